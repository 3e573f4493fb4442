"""Secrets never reach journals or reports (docs/architecture.md, Safety)."""

from __future__ import annotations

import re
from typing import Any

_SECRET_KEYS = re.compile(r"pass(word)?|secret|token|api[_-]?key|credential", re.IGNORECASE)
# scheme://user:password@host  ->  scheme://user:***@host
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s]+)(?=@)", re.IGNORECASE)
# key=value DSN form (password=...), and the YAML of a file kept as text (password: ..., sentinel_password: ...)
_KV_PASSWORD = re.compile(r"(?P<head>(?:\b|_)(?:password|passwd|secret|token|api[_-]?key)\s*[=:][ \t]*)"
                          r"(?P<secret>'[^']*'|\"[^\"]*\"|[^\s,}]+)", re.IGNORECASE)

MASK = "***"


def redact_text(text: str) -> str:
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _KV_PASSWORD.sub(lambda m: m.group("head") + MASK, text)


def redact(value: Any) -> Any:
    """A copy of `value` with passwords in URLs/DSNs and secret-named fields masked."""
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and _SECRET_KEYS.search(k) and v else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
