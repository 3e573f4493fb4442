"""An HTTP adapter compiled for the request path: what to send, and what an answer means.

Transport-free on purpose: the load workers send through Locust's client, final reads and the
probe through httpx; all of them build requests and read answers here. Built once per process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

import jmespath

from cachechaos.adapters.keys import KeySpace
from cachechaos.adapters.model import AdapterSpec, HttpOperation
from cachechaos.adapters.templates import compile_body, compile_url
from cachechaos.adapters.values import UNKNOWN, UniqueValues

_JSON = {"Content-Type": "application/json"}
_LAYERS = ("l1", "l2", "miss")
READS = frozenset({"read", "cart_read"})


class Request(NamedTuple):
    method: str
    path: str
    payload: str | None
    headers: dict[str, str] | None


def parse_json(body: bytes | str | None) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def integer_version(raw: Any) -> int:
    """An integer version from a JSON value or a header (`"17"`, `W/"17"`); UNKNOWN otherwise."""
    if isinstance(raw, bool) or raw is None:
        return UNKNOWN
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        text = text[2:] if text.startswith("W/") else text
        text = text.strip('"')
        if text.isdigit() and text.isascii():
            return int(text)
    return UNKNOWN


class FieldPath:
    """A JMESPath expression that is a chain of field names (`data.attributes.price`), walked with dict
    lookups: a tenth of the cost of jmespath's interpreter, on the path of every read."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def search(self, doc: Any) -> Any:
        for name in self.names:
            if not isinstance(doc, dict):
                return None
            doc = doc.get(name)
        return doc


def _field_names(node: Mapping[str, Any]) -> tuple[str, ...] | None:
    if node.get("type") == "field":
        return (node["value"],)
    if node.get("type") == "subexpression":
        names: tuple[str, ...] = ()
        for child in node.get("children", []):
            found = _field_names(child)
            if found is None:
                return None
            names += found
        return names
    return None


class Search(Protocol):
    def search(self, value: Any) -> Any: ...


def compile_path(expression: str) -> Search:
    """An object with `search(doc)`: FieldPath for a plain chain of fields, jmespath's own otherwise."""
    parsed = jmespath.compile(expression)
    names = _field_names(parsed.parsed)
    return FieldPath(names) if names else parsed


class CompiledOperation:
    """One declared request, its templates compiled and its JMESPath expressions parsed."""

    def __init__(self, op: HttpOperation) -> None:
        self.method = op.method
        self.url = compile_url(op.url)
        self.body = compile_body(op.body)
        headers = {**(_JSON if self.body is not None else {}), **op.headers}
        self.headers = headers or None
        self.value = compile_path(op.value) if op.value else None
        self.version = compile_path(op.version) if op.version else None
        self.version_header = op.version_header.lower() if op.version_header else None
        self.versioned = op.versioned

    def request(self, fields: Mapping[str, str]) -> Request:
        return Request(self.method, self.url.format_map(fields),
                       self.body.format_map(fields) if self.body is not None else None, self.headers)

    def reported_version(self, doc: Any, headers: Any) -> int:
        if self.version is not None:
            return integer_version(self.version.search(doc)) if doc is not None else UNKNOWN
        if self.version_header is not None and headers is not None:
            return integer_version(headers.get(self.version_header))
        return UNKNOWN

    def value_in(self, doc: Any) -> Any:
        return self.value.search(doc) if self.value is not None and doc is not None else None


class CompiledAdapter:
    """Every operation an HTTP adapter declares, ready for the request path."""

    def __init__(self, spec: AdapterSpec, values: UniqueValues) -> None:
        self.spec = spec
        self.values = values
        self.derived = spec.derives_versions
        self.keys = KeySpace(spec.keys)
        self.users = KeySpace(spec.users)
        self.groups = KeySpace(spec.groups)
        self.ops: dict[str, CompiledOperation] = {
            name: CompiledOperation(getattr(spec, name))
            for name in ("read", "write", "bulk_update", "order", "cart_read", "cart_write")
            if getattr(spec, name, None) is not None
        }
        self.layer_header = spec.layer_header.lower() if spec.layer_header else None
        self.layer_path = compile_path(spec.layer_path) if spec.layer_path else None
        self._layers = {**{name: name for name in _LAYERS}, **spec.layer_values}
        bulk = spec.bulk_update
        self._updated = jmespath.compile(bulk.updated) if bulk else None
        self._updated_versions = jmespath.compile(bulk.updated_versions) if bulk and bulk.updated_versions else None

    def value_fields(self, tag: int) -> dict[str, str]:
        text = self.values.text(tag)
        return {"u_value": text, "t_value": text, "j_value": self.values.literal(tag)}

    def layer(self, headers: Any, body: bytes | str | None = None) -> str | None:
        """l1 | l2 | miss from the declared layer header, else from the body at `layer_path` (None: absent
        or not a known name). The body is parsed again only for a service that names the layer there."""
        raw: Any = None
        if self.layer_header is not None and headers is not None:
            raw = headers.get(self.layer_header)
        elif self.layer_path is not None and body:
            doc = parse_json(body)
            raw = self.layer_path.search(doc) if doc is not None else None
        return self._layers.get(raw.strip()) if isinstance(raw, str) else None

    def read_version(self, name: str, status: int, body: bytes | str | None, headers: Any) -> int:
        """What a read's answer says: the version (when the service reports one) or the tag of the value."""
        if not 200 <= status < 300:
            return UNKNOWN
        op = self.ops[name]
        doc = parse_json(body)
        if op.versioned:
            return op.reported_version(doc, headers)
        return self.values.tag_of(op.value_in(doc))

    def write_version(self, name: str, status: int, body: bytes | str | None, headers: Any, tag: int) -> int:
        """What the history keeps for a write: its tag, or the version the service committed."""
        if self.derived:
            return tag
        if not 200 <= status < 300:
            return UNKNOWN
        return self.ops[name].reported_version(parse_json(body), headers)

    def bulk_updates(self, status: int, body: bytes | str | None, tag: int) -> list[tuple[int, int]]:
        """(history key, version or tag) of every key a bulk update says it wrote."""
        if not 200 <= status < 300 or self._updated is None:
            return []
        doc = parse_json(body)
        found = self._updated.search(doc) if doc is not None else None
        keys = found if isinstance(found, list) else []
        versions: list[Any] = []
        if self._updated_versions is not None and doc is not None:
            listed = self._updated_versions.search(doc)
            versions = listed if isinstance(listed, list) else []
        out = []
        for i, raw in enumerate(keys):
            key = self.keys.history_of(raw)
            if key is None:
                continue
            if self._updated_versions is not None:
                out.append((key, integer_version(versions[i]) if i < len(versions) else UNKNOWN))
            else:
                out.append((key, tag))
        return out
