"""The fault proxy: a Toxiproxy-compatible server and the client all of cachechaos uses.

Exports are loaded lazily so `python -m cachechaos.proxy` starts without httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import (
        AlreadyExists,
        Proxy,
        ProxyNotFound,
        Toxic,
        ToxicNotFound,
        ToxiproxyClient,
        ToxiproxyError,
        ToxiproxyUnavailable,
    )
    from .server import ProxyServer

__all__ = [
    "AlreadyExists",
    "Proxy",
    "ProxyNotFound",
    "ProxyServer",
    "Toxic",
    "ToxicNotFound",
    "ToxiproxyClient",
    "ToxiproxyError",
    "ToxiproxyUnavailable",
]


def __getattr__(name: str) -> Any:
    if name == "ProxyServer":
        from .server import ProxyServer

        return ProxyServer
    if name in __all__:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
