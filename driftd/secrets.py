"""Secrets are read once, registered, and redacted from everything driftd says.

``resolve_secret`` (config_services) reads a secret from the environment and
registers it here. From then on :func:`redact` replaces it (and its URL-encoded
form) with ``***`` in any text, and :class:`RedactingFilter`, installed on the
root logger's handlers by :func:`install_log_redaction`, applies that to every
log record, its arguments and its traceback. Errors that travel elsewhere (the
outbox's last_error, API responses, metrics labels) go through ``redact`` too.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import quote

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
