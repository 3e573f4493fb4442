"""What faults, the sampler and the runner need from a topology, local or external."""

from __future__ import annotations

from typing import Protocol

import redis

from cachechaos.errors import BadInput
from cachechaos.proxy.client import ToxiproxyClient
from cachechaos.runtime.endpoints import Endpoints


class NotControllable(BadInput, RuntimeError):
    """The node is not one the toolkit runs (or may touch): the fault cannot act on it."""


class Target(Protocol):
    """A running system under test. `LocalTopology` and `ExternalTarget` implement it."""

    @property
    def endpoints(self) -> Endpoints: ...

    def proxy_client(self) -> ToxiproxyClient: ...

    def redis_admin(self, node: str) -> redis.Redis:
        """A client for admin commands (INFO, FLUSHALL, CONFIG) that bypasses the fault proxies."""
        ...

    def redis_names(self) -> list[str]: ...

    def primary_name(self) -> str | None:
        """The Redis node Sentinel currently names as primary."""
        ...

    def postgres_admin_dsn(self) -> str | None:
        """A DSN that bypasses the fault proxy (for the sampler); None when the topology names no PostgreSQL."""
        ...

    def destructive_allowed(self, node: str) -> bool:
        """May destructive faults (FLUSHALL, CONFIG SET, kill) act on `node`? (DESIGN.md, Safety)"""
        ...

    def kill_node(self, node: str) -> None: ...

    def start_node(self, node: str) -> None: ...

    def restart_backends(self) -> None: ...
