"""The Toxiproxy 2.x HTTP API: routes, request validation, response shapes."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from . import errors
from .addresses import split_address
from .collection import PopulateError, ProxyCollection, ProxyConfig
from .compat import NOT_FOUND_BODY, Dialect, version_body
from .errors import ApiError, bad_request, missing_field
from .toxic_spec import STREAMS, ToxicSpec
from .toxics import parse_attributes, toxic_type

log = logging.getLogger("cachechaos.proxy")

VERSION = "2.12.0-cachechaos"
DEFAULT_LISTEN = "127.0.0.1:0"


@dataclass(frozen=True)
class RawBody:
    """A body sent as is, for the answers old servers gave that are not our JSON."""

    content_type: str
    data: bytes
    headers: tuple[tuple[str, str], ...] = ()


Response = tuple[int, Any]


class _NoRoute(Exception):
    """The router of the emulated server has no route: a bare 404, or 405 for a known path."""

    def __init__(self, method: str, path_known: bool) -> None:
        super().__init__(method)
        self.path_known = path_known


class Api:
    def __init__(self, collection: ProxyCollection, compat: Dialect | None = None) -> None:
        self.collection = collection
        self.compat = compat

    async def handle(self, method: str, target: str, body: bytes) -> Response:
        """Answer one request with (status, JSON-able body, RawBody, or None for no body)."""
        try:
            return await self._route(method, target, body)
        except PopulateError as exc:
            payload = exc.error.to_json()
            payload["proxies"] = [p.to_json() for p in exc.applied]
            return exc.error.status, payload
        except ApiError as exc:
            if self.compat is not None and self.compat.error_key != "error":
                return exc.status, {self.compat.error_key: exc.message, "status": exc.status}
            if exc.allow:
                allow = (("Allow", ", ".join(exc.allow)),)
                return exc.status, RawBody("application/json", json.dumps(exc.to_json()).encode(), allow)
            return exc.status, exc.to_json()
        except _NoRoute as exc:
            assert self.compat is not None
            # Logged, so a run against an old-API server shows any request it would refuse.
            log.warning("no route for %s %s on Toxiproxy %s", method, target, self.compat.version)
            if self.compat.method_mismatch == 404 or not exc.path_known:
                return 404, RawBody("text/plain; charset=utf-8", NOT_FOUND_BODY)
            return 405, None

    def _allow(self, method: str, *methods: str) -> None:
        compat = self.compat
        if compat is None:
            _allow(method, *methods)
        elif method not in methods or (method == "PATCH" and not compat.patch_routes):
            raise _NoRoute(method, path_known=True)

    def _version(self) -> Response:
        if self.compat is None:
            return 200, {"version": VERSION}
        kind = "text/plain" if self.compat.version_body == "text" else "application/json"
        return 200, RawBody(f"{kind};charset=utf-8", version_body(self.compat))

    async def _route(self, method: str, target: str, body: bytes) -> Response:
        path = target.split("?", 1)[0]
        parts = [unquote(part) for part in path.strip("/").split("/")] if path != "/" else []
        col = self.collection
        match parts:
            case ["version"]:
                self._allow(method, "GET")
                return self._version()
            case ["reset"]:
                self._allow(method, "POST")
                await col.reset()
                return 204, None
            case ["populate"] if self.compat is None or self.compat.populate_route:
                self._allow(method, "POST")
                proxies = await col.populate(populate_configs(_decode(body)))
                return 201, {"proxies": [p.to_json() for p in proxies]}
            case ["proxies"]:
                self._allow(method, "GET", "POST")
                if method == "GET":
                    return 200, {name: p.to_json() for name, p in col.proxies.items()}
                return 201, (await col.create(_proxy_config(_decode(body)))).to_json()
            case ["proxies", name]:
                self._allow(method, "GET", "POST", "PATCH", "DELETE")
                if method == "GET":
                    return 200, col.get(name).to_json()
                if method == "DELETE":
                    await col.delete(name)
                    return 204, None
                col.get(name)
                listen, upstream, enabled = _proxy_update(_decode(body))
                return 200, (await col.update(name, listen, upstream, enabled)).to_json()
            case ["proxies", name, "toxics"]:
                self._allow(method, "GET", "POST")
                proxy = col.get(name)
                if method == "GET":
                    return 200, proxy.toxics_json()
                toxic = _new_toxic(_decode(body), proxy.toxics, self._toxic_types())
                return 200, col.add_toxic(name, toxic).to_json()
            case ["proxies", name, "toxics", toxic]:
                self._allow(method, "GET", "POST", "PATCH", "DELETE")
                if method == "GET":
                    return 200, col.get_toxic(name, toxic).to_json()
                if method == "DELETE":
                    col.remove_toxic(name, toxic)
                    return 204, None
                current = col.get_toxic(name, toxic)
                return 200, col.update_toxic(name, _updated_toxic(current, _decode(body))).to_json()
        if self.compat is not None:
            raise _NoRoute(method, path_known=False)
        raise ApiError("not found", 404)

    def _toxic_types(self) -> frozenset[str] | None:
        return None if self.compat is None else self.compat.toxic_types


def _allow(method: str, *methods: str) -> None:
    if method not in methods:
        raise ApiError(f"method {method} not allowed", 405, methods)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def _decode(body: bytes) -> Any:
    if not body.strip():
        raise bad_request("EOF")
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise bad_request(str(exc)) from exc


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise bad_request(f"{what} must be a JSON object")
    return data


def _optional(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise bad_request(f"field {key!r} must be a {kind.__name__}, got {value!r}")
    return value


def _address(value: str, field: str) -> str:
    try:
        split_address(value)
    except ValueError as exc:
        raise bad_request(f"{field}: {exc}") from exc
    return value


def _proxy_config(data: Any, where: str = "") -> ProxyConfig:
    data = _object(data, "proxy")
    name = _optional(data, "name", str)
    upstream = _optional(data, "upstream", str)
    listen = _optional(data, "listen", str)
    enabled = _optional(data, "enabled", bool)
    if not name:
        raise missing_field("name" + where)
    if not upstream:
        raise missing_field("upstream" + where)
    return ProxyConfig(
        name=name,
        listen=_address(listen or DEFAULT_LISTEN, "listen"),
        upstream=_address(upstream, "upstream"),
        enabled=True if enabled is None else enabled,
    )


def populate_configs(data: Any) -> list[ProxyConfig]:
    if not isinstance(data, list):
        raise bad_request("populate expects a JSON list of proxies")
    configs = [_proxy_config(item, f" at proxy {i + 1}") for i, item in enumerate(data)]
    seen: set[str] = set()
    for config in configs:
        if config.name in seen:
            raise bad_request(f"duplicate proxy name {config.name!r}")
        seen.add(config.name)
    return configs


def _proxy_update(data: Any) -> tuple[str | None, str | None, bool | None]:
    data = _object(data, "proxy")
    listen = _optional(data, "listen", str)
    upstream = _optional(data, "upstream", str)
    enabled = _optional(data, "enabled", bool)
    return (
        _address(listen, "listen") if listen else None,
        _address(upstream, "upstream") if upstream else None,
        enabled,
    )


def _toxicity(data: dict[str, Any], default: float) -> float:
    value = data.get("toxicity")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_request(f"field 'toxicity' must be a number, got {value!r}")
    return float(value)


def _new_toxic(
    data: Any, existing: dict[str, ToxicSpec], types: frozenset[str] | None = None
) -> ToxicSpec:
    data = _object(data, "toxic")
    stream = _optional(data, "stream", str) or "downstream"
    type_name = _optional(data, "type", str) or ""
    name = _optional(data, "name", str) or f"{type_name}_{stream}"
    if stream not in STREAMS:
        raise ApiError(errors.INVALID_STREAM, 400)
    cls = toxic_type(type_name) if types is None or type_name in types else None
    if cls is None:
        raise ApiError(errors.INVALID_TOXIC_TYPE, 400)
    if name in existing:
        raise ApiError(errors.TOXIC_ALREADY_EXISTS, 409)
    toxicity = _toxicity(data, 1.0)
    try:
        attributes = parse_attributes(cls.defaults, data.get("attributes"))
    except ValueError as exc:
        raise bad_request(str(exc)) from exc
    return ToxicSpec(name, type_name, stream, toxicity, cls(attributes))


def _updated_toxic(current: ToxicSpec, data: Any) -> ToxicSpec:
    data = _object(data, "toxic")
    cls = type(current.toxic)
    try:
        attributes = parse_attributes(cls.defaults, data.get("attributes"), current.toxic.attributes)
    except ValueError as exc:
        raise bad_request(str(exc)) from exc
    toxicity = _toxicity(data, current.toxicity)
    return ToxicSpec(current.name, current.type, current.stream, toxicity, cls(attributes))
