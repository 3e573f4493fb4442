"""URL and JSON body templates, compiled once per process into `str.format` strings.

A request then costs one `format_map` per template: no JSON encoding and no tree walk on the
hot path. Fields come in three spellings: `u_<name>` (URL-quoted, for URLs), `t_<name>` (text
escaped for the inside of a JSON string, spliced into a longer string) and `j_<name>` (a JSON
literal: a body leaf that is exactly one placeholder keeps its type).
"""

from __future__ import annotations

import json
import string
from typing import Any

# Private-use characters: json.dumps leaves them as they are (it escapes control characters).
_TYPED, _SPLICED, _END = "\ue000", "\ue001", "\ue002"


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def compile_url(template: str) -> str:
    """`/api/items/{key}` -> `/api/items/{u_key}`."""
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(_escape(literal))
        if name is not None:
            out.append("{u_" + name + "}")
    return "".join(out)


def _mark(text: str) -> str:
    parts = list(string.Formatter().parse(text))
    if len(parts) == 1 and parts[0][0] == "" and parts[0][1] is not None:
        return _TYPED + parts[0][1] + _END
    return "".join(literal + (_SPLICED + name + _END if name is not None else "") for literal, name, _, _ in parts)


def _marked(body: Any) -> Any:
    if isinstance(body, str):
        return _mark(body)
    if isinstance(body, dict):
        return {_mark(str(k)): _marked(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_marked(v) for v in body]
    return body


def compile_body(body: Any) -> str | None:
    """A JSON body template (any YAML structure) as a format string; None for no body."""
    if body is None:
        return None
    text = _escape(json.dumps(_marked(body), separators=(",", ":"), ensure_ascii=False))
    # A typed placeholder replaces its whole JSON string, quotes included.
    out = []
    rest = text
    while True:
        typed = rest.find('"' + _TYPED)
        spliced = rest.find(_SPLICED)
        if typed < 0 and spliced < 0:
            out.append(rest)
            return "".join(out)
        if typed >= 0 and (spliced < 0 or typed < spliced):
            end = rest.index(_END, typed)
            out.append(rest[:typed] + "{j_" + rest[typed + 1 + len(_TYPED):end] + "}")
            rest = rest[end + len(_END) + 1:]  # past the closing quote
        else:
            end = rest.index(_END, spliced)
            out.append(rest[:spliced] + "{t_" + rest[spliced + len(_SPLICED):end] + "}")
            rest = rest[end + len(_END):]
