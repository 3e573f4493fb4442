"""A synchronous client of a service through its adapter (httpx, or the Python class): final reads, probe.

The load workers do not use it: they send through Locust's client (shop.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import httpx

from cachechaos.adapters.compiled import CompiledAdapter
from cachechaos.adapters.hook import hook_outcome, load_hook, takes_final
from cachechaos.adapters.keys import KeySpace
from cachechaos.adapters.model import AdapterSpec
from cachechaos.adapters.values import UNKNOWN, UniqueValues


class Answer(NamedTuple):
    status: int
    version: int           # the version, or the tag of the value (UNKNOWN: none)
    layer: str | None
    shown: str             # what came back, for the probe's findings


class AdapterClient:
    """Reads and writes of one backend the adapter's way; `version` of an answer is a tag when versions are derived."""

    def __init__(self, adapter: AdapterSpec, base_url: str, values: UniqueValues | None = None,
                 timeout: float = 5.0) -> None:
        self.adapter = adapter
        self.values = values or UniqueValues(adapter.values)
        self.keys, self.users = KeySpace(adapter.keys), KeySpace(adapter.users)
        self.hook = load_hook(adapter, base_url) if adapter.python is not None else None
        self.compiled = CompiledAdapter(adapter, self.values) if adapter.python is None else None
        self.http = httpx.Client(base_url=base_url, timeout=timeout) if adapter.python is None else None

    def close(self) -> None:
        if self.http is not None:
            self.http.close()

    def __enter__(self) -> AdapterClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _space(self, name: str) -> tuple[KeySpace, str]:
        return (self.users, "user") if name.startswith("cart") else (self.keys, "key")

    def read(self, name: str, key: int, bypass: bool = False) -> Answer:
        """`name`: read or cart_read; `key`: the history key."""
        space, field = self._space(name)
        if self.hook is not None:
            method = getattr(self.hook, name)
            result = method(space.raw(key), final=True) if bypass and takes_final(method) else method(space.raw(key))
            status, version, layer = hook_outcome(name, result, self.values, UNKNOWN)
            return Answer(status, version, layer, repr(result))
        assert self.compiled is not None and self.http is not None
        request = self.compiled.ops[name].request(space.fields(field, key))
        headers = {**(request.headers or {}), **(self.adapter.bypass_headers if bypass else {})}
        response = self.http.request(request.method, request.path, content=request.payload, headers=headers)
        version = self.compiled.read_version(name, response.status_code, response.content, response.headers)
        return Answer(response.status_code, version, self.compiled.layer(response.headers, response.content),
                      f"{request.method} {request.path} -> HTTP {response.status_code} {_short(response.text)}")

    def write(self, name: str, key: int, tag: int) -> Answer:
        """`name`: write or cart_write, storing the value of `tag`."""
        space, field = self._space(name)
        if self.hook is not None:
            result = getattr(self.hook, name)(space.raw(key), self.values.python(tag))
            status, version, _ = hook_outcome(name, result, self.values, tag, derived=self.adapter.derives_versions)
            return Answer(status, version, None, repr(result))
        assert self.compiled is not None and self.http is not None
        request = self.compiled.ops[name].request({**space.fields(field, key), **self.compiled.value_fields(tag)})
        response = self.http.request(request.method, request.path, content=request.payload, headers=request.headers)
        version = self.compiled.write_version(name, response.status_code, response.content, response.headers, tag)
        return Answer(response.status_code, version, None,
                      f"{request.method} {request.path} -> HTTP {response.status_code}")


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def shown(value: Any) -> str:
    return _short(repr(value))
