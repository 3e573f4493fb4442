"""What faults, the sampler and the runner need from a system under test, as small capabilities.

Jepsen's `db` protocol is the model: every target has the core (`Target`: its endpoints,
its catalog, a description, close) and implements the capabilities it can honour:
`ProxyControl` (faults on links), `RedisAdmin`, `PostgresAdmin`, `Killable`, `Pausable`,
`Disconnectable`, `Restartable`, `Reseedable`, and `Outlives` when its nodes outlive the toolkit. A fault declares the capabilities it needs (`Fault.requires`);
an experiment asking a fault of a target without them is rejected when it is validated,
before anything starts (`missing_capabilities`). A new runtime (containers) implements
the same Protocols and every fault that only needs them works against it unchanged.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

import redis

from cachechaos.errors import BadInput
from cachechaos.proxy.client import ToxiproxyClient
from cachechaos.runtime.endpoints import Catalog, Endpoints


class NotControllable(BadInput, RuntimeError):
    """The node is not one the toolkit runs (or may touch): the fault cannot act on it."""


@runtime_checkable
class Target(Protocol):
    """A running system under test: the core every target has."""

    @property
    def endpoints(self) -> Endpoints: ...

    def catalog(self) -> Catalog:
        """How many products, categories and users the service holds (the traffic draws ids from them)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What run.json and `up --json` record: endpoints, and when the toolkit runs the nodes, nodes and binaries."""
        ...

    def destructive_allowed(self, node: str) -> bool:
        """May destructive faults (FLUSHALL, CONFIG SET, kill) act on `node`? (docs/architecture.md, Safety)"""
        ...

    def close(self) -> None:
        """End of use: a target the toolkit started is torn down; an attached one is left alone."""
        ...


@runtime_checkable
class ProxyControl(Protocol):
    """Links run through a Toxiproxy API: latency, timeouts, cuts, partitions."""

    def proxy_client(self) -> ToxiproxyClient: ...


@runtime_checkable
class RedisAdmin(Protocol):
    """Admin access to the Redis nodes (INFO, FLUSHALL, CONFIG), bypassing the fault proxies."""

    def redis_admin(self, node: str) -> redis.Redis: ...

    def redis_names(self) -> list[str]: ...

    def primary_name(self) -> str | None:
        """The Redis node Sentinel currently names as primary."""
        ...


@runtime_checkable
class SentinelAuth(Protocol):
    """Sentinels that ask a password (their requirepass): an attached topology's `sentinel_password`."""

    def sentinel_password(self) -> str | None: ...


@runtime_checkable
class PostgresAdmin(Protocol):
    def postgres_admin_dsn(self) -> str | None:
        """A DSN that bypasses the fault proxy (for the sampler); None when the topology names no PostgreSQL."""
        ...


@runtime_checkable
class Killable(Protocol):
    """The toolkit runs the nodes' processes: it can crash one and start it again."""

    def kill_node(self, node: str) -> None: ...

    def start_node(self, node: str) -> None: ...


@runtime_checkable
class Pausable(Protocol):
    """A node can be frozen without closing its sockets (a GC pause, a stopped VM) and thawed."""

    def pause_node(self, node: str) -> None: ...

    def resume_node(self, node: str) -> None: ...


@runtime_checkable
class Disconnectable(Protocol):
    """A node can be cut off the network below the proxies (a container off its network) and put back."""

    def disconnect_node(self, node: str) -> None: ...

    def reconnect_node(self, node: str) -> None: ...


@runtime_checkable
class Outlives(Protocol):
    """Nodes that outlive the toolkit (a user's compose project): a node fault journals how to undo it
    before it acts (cachechaos.heal), so that `cachechaos heal` undoes it after the toolkit died."""

    def heal_steps(self, change: str, node: str) -> list[dict[str, Any]]:
        """How to undo `change` (kill, pause, disconnect) of `node`, as heal steps, read before the change."""
        ...


@runtime_checkable
class Restartable(Protocol):
    """The backends can be restarted (a deploy: every L1 cold)."""

    def restart_backends(self) -> None: ...


@runtime_checkable
class Reseedable(Protocol):
    """The data can be put back to its seeded state between runs."""

    def reseed(self) -> None: ...


CAPABILITIES: tuple[type, ...] = (ProxyControl, RedisAdmin, PostgresAdmin, Killable, Pausable, Disconnectable, Restartable,
                                  Reseedable)

C = TypeVar("C")


def need(target: object, capability: type[C]) -> C:
    """`target` as `capability`, or NotControllable naming what it lacks."""
    if not isinstance(target, capability):
        raise NotControllable(f"{type(target).__name__} cannot act as {capability.__name__}")
    return target


def missing_capabilities(target_class: type, required: tuple[type, ...]) -> list[type]:
    """The capabilities of `required` a target class does not implement (checked before it is started)."""
    return [c for c in required if not issubclass(target_class, c)]
