"""The daemon's HTTP server: health, Prometheus metrics, and the JSON API.

    GET  /                             the dashboard (models); /models/<id>: charts
    GET  /healthz                      alive
    GET  /readyz                       store reachable (and whatever the runtime adds)
    GET  /metrics                      Prometheus text format
    GET  /api/models                   every model with its current readings
    GET  /api/models/<id>              one model
    GET  /api/models/<id>/history?metric=accuracy&limit=500
    GET  /api/models/<id>/versions     registry versions and aliases
    GET  /api/models/<id>/runs         retraining runs, newest first
    GET  /api/alerts                   firing now, and recent transitions
    GET  /api/silences
    POST /api/silences                 {"matchers": {...}, "duration": "2h", "comment": ""}
    POST /api/models/<id>/promote      {"version": 3}
    POST /api/models/<id>/rollback
    POST /api/models/<id>/retrain      {"reason": "..."}

POSTs need ``Authorization: Bearer <token>`` where the token is the value of the
environment variable named by ``http.token_env``; without that variable set they
always answer 401. Bound to 127.0.0.1 unless configured. Every answer goes through
secret redaction. stdlib's ThreadingHTTPServer: the load is a scrape and a few
people, and it adds no dependency. Hardened for what it is (issue 15): a request
must arrive within ``TIMEOUT`` seconds; at most ``MAX_CONNECTIONS`` are served at once
(more get a 503); a body is at most ``MAX_BODY`` bytes with a valid Content-Length;
the Host header must be an allowed one (loopback names when bound to loopback: a
DNS-rebinding page gets a 421); answers carry nosniff, frame, referrer and content
security policies.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hmac
import json
import logging
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CollectorRegistry, generate_latest

from driftd.credentials import redact
from driftd.daemon.web import dashboard
from driftd.daemon.web.api import Actions
from driftd.daemon.web.metrics import Extra, StateCollector
from driftd.daemon.web.state_view import StateView
from driftd.retrain.registry import UnknownVersion

log = logging.getLogger("driftd.http")

Ready = Callable[[], dict[str, bool]]

TIMEOUT = 10.0  # seconds for a request to arrive (a slow or idle client is cut)
MAX_CONNECTIONS = 64
MAX_BODY = 64 * 1024
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


class _CappedServer(ThreadingHTTPServer):
    """At most ``MAX_CONNECTIONS`` requests at once; the next ones get a 503."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]):
        super().__init__(address, handler)
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def host_allowed(host_header: str | None, bound: str, allowed: list[str]) -> bool:
    """Whether a request's Host header names this server (port ignored).

    >>> host_allowed("localhost:8080", "127.0.0.1", [])
    True
    >>> host_allowed("evil.example:8080", "127.0.0.1", [])
    False
    >>> host_allowed("driftd:8080", "0.0.0.0", [])
    True
    """
    if "*" in allowed:
        return True
    name = (host_header or "").strip().lower()
    if name.startswith("["):  # [::1]:8080
        name = name[: name.find("]") + 1] if "]" in name else name
    elif name.count(":") == 1:  # localhost:8080
        name = name.rsplit(":", 1)[0]
    names = {n.lower() for n in allowed}
    if not names and bound not in ("127.0.0.1", "::1", "localhost"):
        return True  # reachable on purpose, no list: any name
    return name in names | set(LOOPBACK_NAMES) | {bound.lower()}


@dataclass
class Raw:
    """A non-JSON answer (a page, a static file)."""

    body: bytes
    content_type: str


class StatusServer:
    def __init__(
        self,
        view: StateView,
        host: str = "127.0.0.1",
        port: int = 8080,
        token_env: str = "DRIFTD_API_TOKEN",
        ready: Ready | None = None,
        extra_metrics: Extra | None = None,
        actions: Actions | None = None,
        allowed_hosts: list[str] | None = None,
        owned_models: Callable[[], set[str]] | None = None,
    ):
        self.view = view
        self.host = host
        self.allowed_hosts = list(allowed_hosts or [])
        self.token_env = token_env
        self.ready = ready
        self.actions = actions
        self.metrics = CollectorRegistry(auto_describe=False)
        self.metrics.register(StateCollector(view, extra_metrics, owned_models))  # type: ignore[arg-type]
        try:
            self.httpd = _CappedServer((host, port), self._handler())
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise OSError(exc.errno, f"port {port} on {host} is already in use (another driftd?); "
                                     "choose one with --port or http.port, 0 = any free port"
                          ) from None  # fmt: skip
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> StatusServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        name="driftd-http")  # fmt: skip
        self._thread.start()
        log.info("HTTP on %s:%d", *self.httpd.server_address[:2])
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- routing ----------------------------------------------------------------------

    def authorized(self, header: str | None) -> bool:
        token = os.environ.get(self.token_env)
        if not token or not header or not header.startswith("Bearer "):
            return False
        return hmac.compare_digest(header[7:].encode(), token.encode())

    def get(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        view = self.view
        parts = [p for p in path.split("/") if p]
        if path == "/healthz":
            return 200, {"status": "ok"}
        if path == "/":
            return 200, _html(dashboard.index(view))
        if len(parts) == 2 and parts[0] == "models" and parts[1] in view.config.models:
            at = query.get("at", [None])[0]
            moment = None if at is None else float(at)
            if moment is not None and not math.isfinite(moment):
                raise ValueError(f"at must be a finite event time, got {at!r}")
            return 200, _html(dashboard.model_page(view, parts[1], moment))
        if len(parts) == 2 and parts[0] == "static":
            found = dashboard.static_file(parts[1])
            if found is not None:
                return 200, Raw(*found)
        if path == "/readyz":
            checks = {"store": _reachable(view)}
            if self.ready is not None:
                checks.update(self.ready())
            return (200 if all(checks.values()) else 503), {"ready": all(checks.values()),
                                                            "checks": checks}  # fmt: skip
        if parts == ["api", "openapi.json"]:
            return 200, openapi()
        if parts == ["api", "models"]:
            return 200, view.models()
        if parts == ["api", "alerts"]:
            return 200, view.alerts()
        if parts == ["api", "silences"]:
            return 200, view.silences()
        if len(parts) >= 3 and parts[:2] == ["api", "models"]:
            model = parts[2]
            if model not in view.config.models:
                return 404, {"error": f"no model {model!r}"}
            if len(parts) == 3:
                return 200, view.model(model)
            if parts[3:] == ["history"]:
                metric = query.get("metric", ["accuracy"])[0]
                limit = int(query.get("limit", ["500"])[0])
                if not 1 <= limit <= 100_000:
                    raise ValueError(f"limit must be 1..100000, got {limit}")
                return 200, {"model": model, "metric": metric,
                             "points": view.history(model, metric, limit)}  # fmt: skip
            if parts[3:] == ["versions"]:
                return 200, view.versions(model)
            if parts[3:] == ["runs"]:
                return 200, view.runs(model)
        return 404, {"error": f"nothing at {path}"}

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if self.actions is None:
            return 503, {"error": "this server is read-only"}
        if parts == ["api", "silences"]:
            return 201, self.actions.silence(body)
        if len(parts) == 4 and parts[:2] == ["api", "models"]:
            model, action = parts[2], parts[3]
            if model not in self.view.config.models:
                return 404, {"error": f"no model {model!r}"}
            if action in ("promote", "rollback", "retrain"):
                return 200, getattr(self.actions, action)(model, body)
        return 404, {"error": f"nothing at {path}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "driftd"
            timeout = TIMEOUT  # the socket's: a request that does not arrive is cut

            def parse_request(self) -> bool:
                if not super().parse_request():
                    return False
                if not host_allowed(self.headers.get("Host"), server.host,
                                    server.allowed_hosts):  # fmt: skip
                    self._send(421, {"error": "this server does not answer to that Host"})
                    return False
                return True

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("%s %s", self.address_string(), fmt % args)

            def _send(self, status: int, payload: Any, content_type: str = "application/json"):
                if isinstance(payload, Raw):
                    body, content_type = payload.body, payload.content_type
                elif content_type == "application/json":
                    body = redact(json.dumps(payload, default=str)).encode()
                else:
                    body = payload
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in SECURITY_HEADERS.items():
                    self.send_header(name, value)
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Bearer realm="driftd"')
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                try:
                    if url.path == "/metrics":
                        text = redact(generate_latest(server.metrics).decode()).encode()
                        return self._send(200, text, "text/plain; version=0.0.4; charset=utf-8")
                    status, payload = server.get(url.path, parse_qs(url.query))
                except (ValueError, KeyError, TypeError) as exc:  # a bad query
                    status, payload = 400, {"error": redact(exc)}
                except Exception as exc:
                    log.exception("GET %s failed", url.path)
                    status, payload = 500, {"error": redact(exc)}
                self._send(status, payload)

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                if not server.authorized(self.headers.get("Authorization")):
                    return self._send(401, {"error": "a valid bearer token is required"})
                length = _content_length(self.headers.get("Content-Length"))
                if length is None:
                    return self._send(400, {"error": "Content-Length must be 0..65536"})
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                    if not isinstance(body, dict):
                        raise ValueError("the body must be a JSON object")
                    status, payload = server.post(url.path, body)
                except (UnknownVersion, FileNotFoundError) as exc:  # e.g. promoting a version
                    status, payload = 404, {"error": redact(exc)}  # that is not there
                except (ValueError, KeyError, TypeError) as exc:  # a bad request body
                    status, payload = 400, {"error": redact(exc)}
                except Exception as exc:
                    log.exception("POST %s failed", url.path)
                    status, payload = 500, {"error": redact(exc)}
                self._send(status, payload)

        return Handler


@functools.cache
def openapi() -> dict[str, Any]:
    """The API's OpenAPI document (web/openapi.json, checked against this server by
    schemathesis in the tests)."""
    return json.loads((Path(__file__).parent / "openapi.json").read_text())


def _content_length(header: str | None) -> int | None:
    """The body's length if valid (ASCII digits, at most ``MAX_BODY``), else None."""
    value = (header or "0").strip()
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_BODY:
        return None
    return int(value)


def _html(page: bytes) -> Raw:
    """Pages show alert texts and errors: they go through redaction like the JSON does."""
    return Raw(redact(page.decode()).encode(), "text/html; charset=utf-8")


def _reachable(view: StateView) -> bool:
    try:
        view.store.latest_readings(next(iter(view.config.models)))
        return True
    except Exception:
        return False
