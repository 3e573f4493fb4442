"""The Python adapter hook: a small class for an API a declaration cannot express.

    class MyService:
        def __init__(self, base_url: str, **options): ...
        def read(self, key, final=False) -> Read: ...   # required; `final` optional (below)
        def write(self, key, value) -> Written: ...      # required
        # optional, each named in the adapter's `operations`:
        def bulk_update(self, group, value, percent) -> BulkWritten: ...
        def order(self, key, qty, user) -> int: ...      # the HTTP status (201 sold, 409 out of stock)
        def cart_read(self, user, final=False) -> Read: ...
        def cart_write(self, user, value) -> Written: ...

The topology names it as `adapter: {python: my_module:MyService, path: ., options: {...}}`.
Keys are the adapter's keys as the service knows them; `value` is the unique value the write
must store (a number or a string, per `values`). A read method that takes a `final` keyword is
called with `final=True` for the final reads after the load: the source of truth is wanted, so
the adapter should bypass its service's caches (for an HTTP adapter, `bypass_headers`). The toolkit times each call and records it;
an exception is recorded as a request without an answer (status 0). Load processes run under
gevent: blocking sockets (httpx, requests, urllib) cooperate; a C client that blocks the
whole process would serialise the load.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cachechaos.adapters.keys import KeySpace
from cachechaos.adapters.model import AdapterSpec
from cachechaos.adapters.values import UNKNOWN, UniqueValues


@dataclass
class Read:
    """A read's answer: `value` (mapped to the write that produced it) or, for a service that has
    them, `version`; `layer` is l1 | l2 | miss when the service says which layer served it."""

    status: int = 200
    value: Any = None
    version: int | None = None
    layer: str | None = None


@dataclass
class Written:
    """A write's answer; `version` only for a service that reports the version it committed."""

    status: int = 200
    version: int | None = None


@dataclass
class BulkWritten:
    """A bulk update's answer: the keys it wrote (and their versions, for a service that has them)."""

    status: int = 200
    keys: list[Any] = field(default_factory=list)
    versions: list[int] | None = None


class AdapterHook(Protocol):
    def read(self, key: Any) -> Read: ...

    def write(self, key: Any, value: Any) -> Written: ...


class AdapterHookError(RuntimeError):
    """The Python adapter could not be imported or built."""


def hook_class(spec: AdapterSpec) -> type[Any]:
    """Import `module:Class` (with the adapter's `path` on sys.path)."""
    assert spec.python is not None
    if spec.path and spec.path not in sys.path:
        sys.path.insert(0, spec.path)
    module_name, _, class_name = spec.python.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        where = f" (searched {spec.path} and sys.path)" if spec.path else ""
        raise AdapterHookError(f"adapter {spec.python}: cannot import {module_name}{where}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise AdapterHookError(f"adapter {spec.python}: {module_name} has no class {class_name}")
    missing = [name for name in (spec.operations or ["read", "write"]) if not callable(getattr(cls, name, None))]
    if missing:
        raise AdapterHookError(f"adapter {spec.python}: no method {', '.join(missing)} (named in `operations`)")
    return cls


def takes_final(method: Any) -> bool:
    """Whether a hook's read method accepts `final=` (older hooks take the key alone)."""
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return "final" in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def load_hook(spec: AdapterSpec, base_url: str) -> Any:
    """An instance of the adapter's class for one backend."""
    cls = hook_class(spec)
    try:
        return cls(base_url, **spec.options)
    except Exception as exc:
        raise AdapterHookError(f"adapter {spec.python}({base_url!r}, **options) failed: {type(exc).__name__}: {exc}") from exc


def resolve_path(spec: AdapterSpec, base: Path) -> AdapterSpec:
    """The adapter with its `path` made absolute against `base` (the directory of the file naming it)."""
    if spec.path is None or Path(spec.path).is_absolute():
        return spec
    return spec.model_copy(update={"path": str((base / spec.path).resolve())})


_LAYER_NAMES = frozenset({"l1", "l2", "miss"})


def hook_outcome(name: str, result: Any, values: UniqueValues, tag: int, qty: int = 0,
                 derived: bool = True) -> tuple[int, int, str | None]:
    """(status, version or tag, layer) of what a hook method returned (None: it raised)."""
    if result is None:
        return 0, UNKNOWN, None
    if name == "order":
        return (int(result), qty, None) if isinstance(result, int) else (0, UNKNOWN, None)
    status = int(getattr(result, "status", 0))
    ok = 200 <= status < 300
    if isinstance(result, Read):
        if not ok:
            return status, UNKNOWN, None
        version = result.version if result.version is not None else values.tag_of(result.value)
        return status, version, result.layer if result.layer in _LAYER_NAMES else None
    if isinstance(result, Written):
        if derived:
            return status, tag, None
        return status, result.version if ok and result.version is not None else UNKNOWN, None
    return status, UNKNOWN, None


def bulk_outcome(result: BulkWritten, keys: KeySpace, tag: int) -> list[tuple[int, int]]:
    if not 200 <= result.status < 300:
        return []
    out = []
    for i, raw in enumerate(result.keys):
        key = keys.history_of(raw)
        if key is not None:
            version = result.versions[i] if result.versions is not None and i < len(result.versions) else tag
            out.append((key, version))
    return out
