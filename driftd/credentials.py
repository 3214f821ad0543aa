"""Secrets are read once, registered, and redacted from everything driftd says.

Secrets never sit in the config file. A setting ending in ``_env`` names an
environment variable that holds the secret; if that variable is unset, the
variable with ``_FILE`` appended may name a file holding it (the Docker/Kubernetes
secrets convention). :func:`resolve_secret` reads them at start, says which key
pointed where when something is missing, and registers what it read.

From then on :func:`redact` replaces a registered secret (and its URL-encoded
form) with ``***`` in any text, and :class:`RedactingFilter`, installed on the
root logger's handlers by :func:`install_log_redaction`, applies that to every
log record, its arguments and its traceback. Errors that travel elsewhere (the
outbox's last_error, API responses, metrics labels) go through ``redact`` too.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from urllib.parse import quote

from driftd.errors import ConfigError

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()


def register(value: str | None) -> None:
    """Remember a secret value (ignores empty and very short values, which would mask noise)."""
    if not value or len(value) < 4:
        return
    with _lock:
        _secrets.add(value)
        _secrets.add(quote(value, safe=""))
        _secrets.add(quote(value))


def redact(text: object) -> str:
    out = str(text)
    for secret in sorted(_secrets, key=len, reverse=True):  # longest first: no partial leaks
        if secret in out:
            out = out.replace(secret, MASK)
    return out


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            record.msg = redact(record.getMessage())
            record.args = None
            if record.exc_info and record.exc_info[1] is not None:
                formatted = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
                record.exc_text = None
                record.msg = f"{record.msg}\n{redact(formatted)}"
        return True


def install_log_redaction() -> None:
    """Redact on every handler of the root logger (and any added later through it)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def resolve_secret(env_name: str | None, key_path: str, secret: bool = True) -> str | None:
    """The value held by environment variable ``env_name`` (or the file ``<env_name>_FILE``).

    Secrets are registered for redaction; user names (``secret=False``) are not, or
    every log line and metric name containing, say, "driftd" would be masked.
    """
    if not env_name:
        return None
    value = os.environ.get(env_name)
    if value is not None:
        if secret:
            register(value)
        return value
    file_name = os.environ.get(f"{env_name}_FILE")
    if file_name:
        try:
            value = Path(file_name).read_text().strip()
            if secret:
                register(value)
            return value
        except OSError as exc:
            raise ConfigError(
                key_path,
                f"{env_name}_FILE points to {file_name!r}, which cannot be read: {exc.strerror}",
            ) from None
    raise ConfigError(key_path, f"environment variable {env_name} (or {env_name}_FILE) is not set")
