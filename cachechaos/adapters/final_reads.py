"""Final reads through an adapter: the declared read (with the bypass headers) or the Python class."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from cachechaos.adapters.compiled import CompiledAdapter
from cachechaos.adapters.hook import hook_outcome, load_hook
from cachechaos.adapters.keys import KeySpace
from cachechaos.adapters.model import AdapterSpec
from cachechaos.adapters.values import UNKNOWN, UniqueValues

# The final reads' kinds of row and the adapter operation that reads each.
READ_OPERATION = {"products": "read", "carts": "cart_read"}
Fetch = Callable[[int], tuple[int, int]]  # history key -> (status, version or tag)


def describe(adapter: AdapterSpec, kind: str) -> str:
    """How a kind of row is read at the end (for the run's notes)."""
    name = READ_OPERATION[kind]
    if adapter.python is not None:
        return f"through the Python adapter {adapter.python}.{name}"
    op = getattr(adapter, name)
    headers = ", ".join(f"{k}: {v}" for k, v in adapter.bypass_headers.items())
    return f"through the adapter ({op.method} {op.url}{', ' + headers if headers else ''})"


def can_read(adapter: AdapterSpec, kind: str) -> bool:
    return adapter.implements(READ_OPERATION[kind])


@contextmanager
def adapter_fetch(adapter: AdapterSpec, base_url: str, kind: str, timeout: float = 5.0) -> Iterator[Fetch]:
    """A function reading one key of `kind` the adapter's way; values come back as tags (derive.py maps them)."""
    name = READ_OPERATION[kind]
    values = UniqueValues(adapter.values)
    space = KeySpace(adapter.users if kind == "carts" else adapter.keys)
    field = "user" if kind == "carts" else "key"
    if adapter.python is not None:
        hook = load_hook(adapter, base_url)

        def through_hook(key: int) -> tuple[int, int]:
            status, version, _ = hook_outcome(name, getattr(hook, name)(space.raw(key)), values, UNKNOWN)
            return status, version

        yield through_hook
        return
    compiled = CompiledAdapter(adapter, values)
    op = compiled.ops[name]
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        def over_http(key: int) -> tuple[int, int]:
            request = op.request(space.fields(field, key))
            headers = {**(request.headers or {}), **adapter.bypass_headers}
            response = client.request(request.method, request.path, content=request.payload, headers=headers)
            return response.status_code, compiled.read_version(name, response.status_code, response.content, response.headers)

        yield over_http
