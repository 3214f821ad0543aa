"""Local stand-ins for the alert receivers: real servers speaking the real protocols.

- :class:`SlackStandIn` answers like Slack: incoming webhooks (``POST /webhook/...``
  -> ``200 ok``) and the Web API (``POST /api/chat.postMessage`` and ``chat.update``
  -> ``{"ok": true, "channel", "ts"}``), and can be scripted to answer 429 with
  Retry-After, 500, an API error, or slowly.
- :class:`WebhookReceiver` records signed JSON POSTs, scriptable the same way.
- :class:`SmtpServer` is aiosmtpd with STARTTLS (a trustme CA) and AUTH.

Every request is recorded with its arrival time, so tests can check retry timing
and count deliveries by idempotency key.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from services.local import free_port

ID_IN_TEXT = re.compile(r"notification id ([0-9a-f]{16,64})")


@dataclass
class Request:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int = 0

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            from urllib.parse import parse_qs

            form = parse_qs(self.body.decode())
            return {k: json.loads(v[0]) if v[0][:1] in "[{" else v[0] for k, v in form.items()}

    @property
    def idempotency_key(self) -> str | None:
        if "Idempotency-Key" in self.headers:
            return self.headers["Idempotency-Key"]
        match = ID_IN_TEXT.search(self.body.decode(errors="replace").replace("\\n", " "))
        return match.group(1) if match else None


@dataclass
class _HttpStandIn:
    """Script entries: 'ok', '500', '404', '429:<seconds>', 'slow:<seconds>', 'error:<code>'.
    Paths under /missing always answer 404."""

    script: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    fail_until: float = 0.0  # wall time before which every request answers 503

    def __post_init__(self) -> None:
        owner = self
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    time.time(), self.path, dict(self.headers), self.rfile.read(length)
                )
                with owner._lock:
                    owner.requests.append(request)
                    if self.path.startswith("/missing"):  # a misconfigured URL
                        step = "404"
                    elif time.time() < owner.fail_until:  # an outage
                        step = "503"
                    else:
                        step = owner.script.pop(0) if owner.script else "ok"
                owner.answer(self, request, step)

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def _reply(self, handler, status: int, body: bytes, headers: dict[str, str] | None = None):
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up
            handler.wfile.write(body)

    def answer(self, handler, request: Request, step: str) -> None:
        kind, _, arg = step.partition(":")
        if kind == "slow":
            time.sleep(float(arg))
            kind = "ok"
        if kind == "429":
            request.answered = 429
            self._reply(handler, 429, b"rate_limited", {"Retry-After": arg or "1"})
        elif kind.isdigit():
            request.answered = int(kind)
            self._reply(handler, int(kind), b"error")
        else:
            request.answered = 200
            self.ok(handler, request, kind, arg)

    def ok(self, handler, request: Request, kind: str, arg: str) -> None:
        self._reply(handler, 200, b"ok", {"Content-Type": "text/plain"})

    def accepted(self) -> list[Request]:
        return [r for r in self.requests if r.answered == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SlackStandIn(_HttpStandIn):
    def ok(self, handler, request: Request, kind: str, arg: str) -> None:
        if not request.path.startswith("/api/"):
            return self._reply(handler, 200, b"ok", {"Content-Type": "text/plain"})
        if kind == "error":  # Slack answers API errors with 200 and ok=false
            request.answered = 400
            body = {"ok": False, "error": arg}
        else:
            body = {"ok": True, "channel": "C0DRIFTD", "ts": f"{time.time():.6f}"}
        return self._reply(handler, 200, json.dumps(body).encode(),
                           {"Content-Type": "application/json"})  # fmt: skip


class WebhookReceiver(_HttpStandIn):
    pass


class SmtpServer:
    """aiosmtpd on loopback with STARTTLS required and AUTH PLAIN/LOGIN."""

    def __init__(self, workdir: Path, username: str = "driftd", password: str = "smtp-pass"):
        import ssl

        import trustme
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = workdir / "smtp-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self.messages: list[EmailMessage] = []
        self.auth_failures = 0
        owner = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                owner.messages.append(
                    message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[arg-type]
                )
                return "250 Message accepted"

        def authenticator(server, session, envelope, mechanism, auth_data):
            good = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == username
                and auth_data.password.decode() == password
            )
            if not good:
                owner.auth_failures += 1
            return AuthResult(success=good, handled=False)  # False: aiosmtpd answers 535

        self.port = free_port()
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=authenticator,
        )
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()
