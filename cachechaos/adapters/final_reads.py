"""Final reads through an adapter: the declared read (with the bypass headers) or the Python class."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cachechaos.adapters.client import AdapterClient
from cachechaos.adapters.model import AdapterSpec

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
def adapter_fetch(adapter: AdapterSpec, base_url: str, kind: str) -> Iterator[Fetch]:
    """A function reading one key of `kind` the adapter's way; values come back as tags (derive.py maps them)."""
    name = READ_OPERATION[kind]
    with AdapterClient(adapter, base_url) as client:
        def fetch(key: int) -> tuple[int, int]:
            answer = client.read(name, key, bypass=True)
            return answer.status, answer.version

        yield fetch
