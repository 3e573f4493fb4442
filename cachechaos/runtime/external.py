"""Attach mode: a system someone else runs, named by its endpoints.

The backend only has to honour the HTTP contract. Destructive faults act only
on nodes listed in `chaos_targets`, and only with --allow-destructive.
"""

from __future__ import annotations

from typing import Literal

import redis
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cachechaos.adapters.model import AdapterSpec, key_count
from cachechaos.proxy.client import ToxiproxyClient
from cachechaos.runtime.endpoints import Endpoints, Link
from cachechaos.runtime.ports import split_address
from cachechaos.runtime.redis import as_text
from cachechaos.runtime.target import NotControllable

# Without a declared TTL: long enough for the short TTLs a test deployment tends to use.
DEFAULT_QUIESCENCE_S = 5.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExternalRedis(_Strict):
    sentinels: list[str] = Field(default_factory=list, description="host:port of each Sentinel")
    master_name: str = "mymaster"
    nodes: dict[str, str] = Field(default_factory=dict, description="node name -> host:port, for INFO and admin faults")


class ExternalCatalog(_Strict):
    """What the service holds: the traffic draws ids from these ranges."""

    products: int = Field(10_000, ge=1, description="product ids 1..products exist")
    categories: int = Field(100, ge=1, description="category ids 1..categories exist")
    users: int = Field(1_000, ge=1, description="cart user ids 1..users")
    stock: int = Field(100, ge=0, description="initial stock of every product (the oversell check's bound)")


class VersionTable(_Strict):
    """Where the source of truth keeps one kind of row: SQL final reads run `SELECT key, version FROM table`."""

    table: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
    key: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="column holding the product id / cart user id")
    version: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="column holding the row's version")


class ExternalPostgres(_Strict):
    dsn: str = Field(description="DSN for sampling pg_stat_database (and SQL final reads when `tables` maps them)")
    tables: dict[Literal["products", "carts"], VersionTable] = Field(
        default_factory=dict,
        description="final reads in SQL for these kinds of row; kinds not mapped are read through the backend",
    )


class ExternalCache(_Strict):
    """What the service caches, as far as the toolkit needs to know."""

    max_ttl_s: float | None = Field(None, ge=0, description="the longest TTL any cache layer of the service gives an entry")


class ExternalFinalReads(_Strict):
    quiescence_s: float | None = Field(
        None, ge=0, le=3600,
        description="wait after the load before the final reads (default: cache.max_ttl_s + 1 s, else 5 s)",
    )


class ExternalToxiproxy(_Strict):
    url: str = Field(description="Toxiproxy API URL; link faults name its proxies")


class ExternalTopologySpec(_Strict):
    kind: Literal["external"] = "external"
    name: str = "external"
    backends: list[str] = Field(min_length=1, description="base URLs of backend instances")
    catalog: ExternalCatalog = Field(default_factory=ExternalCatalog)  # type: ignore[arg-type]
    redis: ExternalRedis = Field(default_factory=ExternalRedis)
    postgres: ExternalPostgres | None = Field(default=None, description="optional: without it the checks that need PostgreSQL say so")
    cache: ExternalCache = Field(default_factory=ExternalCache)  # type: ignore[arg-type]
    final_reads: ExternalFinalReads = Field(default_factory=ExternalFinalReads)  # type: ignore[arg-type]
    toxiproxy: ExternalToxiproxy | None = None
    chaos_targets: list[str] = Field(default_factory=list, description="nodes destructive faults may touch (with --allow-destructive)")
    adapter: AdapterSpec | None = Field(
        None, description="how the toolkit's operations map onto the service's own API (inline, or the path of a YAML "
                          "file); without it the backends must honour the sample backend's contract")

    @model_validator(mode="after")
    def _catalog_of_adapter(self) -> ExternalTopologySpec:
        # With an adapter the traffic draws from its keys, users and groups: the catalog counts them.
        if self.adapter is not None:
            a = self.adapter
            self.catalog = self.catalog.model_copy(update={
                "products": key_count(a.keys), "users": key_count(a.users), "categories": key_count(a.groups)})
        return self

    def quiescence_s(self) -> float:
        """How long to leave the service alone before the final reads: past its longest TTL, so
        a service that ignores `Cache-Control: no-cache` has dropped every entry it cached."""
        if self.final_reads.quiescence_s is not None:
            return self.final_reads.quiescence_s
        return self.cache.max_ttl_s + 1.0 if self.cache.max_ttl_s is not None else DEFAULT_QUIESCENCE_S


class ExternalTarget:
    """The Target protocol over endpoints the toolkit does not run."""

    def __init__(self, spec: ExternalTopologySpec, allow_destructive: bool = False) -> None:
        self.spec = spec
        self.allow_destructive = allow_destructive
        links: dict[str, Link] = {}
        if spec.toxiproxy is not None:
            with ToxiproxyClient(spec.toxiproxy.url) as client:
                for name, proxy in client.proxies().items():
                    links[name] = Link(name, proxy.listen, proxy.upstream)
        self._endpoints = Endpoints(
            master_name=spec.redis.master_name,
            sentinels=list(spec.redis.sentinels),
            redis=dict(spec.redis.nodes),
            postgres_dsn=spec.postgres.dsn if spec.postgres else None,
            proxy_api=spec.toxiproxy.url if spec.toxiproxy else "",
            links=links,
            backends=[url.rstrip("/") for url in spec.backends],
        )

    @property
    def endpoints(self) -> Endpoints:
        return self._endpoints

    def proxy_client(self) -> ToxiproxyClient:
        if self.spec.toxiproxy is None:
            raise NotControllable("the topology names no Toxiproxy (toxiproxy.url): link faults are impossible")
        return ToxiproxyClient(self.spec.toxiproxy.url)

    def redis_admin(self, node: str) -> redis.Redis:
        if node not in self.spec.redis.nodes:
            raise NotControllable(f"no Redis node {node!r} in the topology (redis.nodes)")
        host, port = split_address(self.spec.redis.nodes[node])
        return redis.Redis(host=host, port=port, socket_timeout=1, socket_connect_timeout=1)

    def redis_names(self) -> list[str]:
        return list(self.spec.redis.nodes)

    def primary_name(self) -> str | None:
        for address in self.spec.redis.sentinels:
            host, port = split_address(address)
            try:
                with redis.Redis(host=host, port=port, socket_timeout=1) as s:
                    found = s.execute_command("SENTINEL", "get-master-addr-by-name", self.spec.redis.master_name)
            except redis.RedisError:
                continue
            if found:
                addr = f"{as_text(found[0])}:{int(found[1])}"
                return next((n for n, a in self.spec.redis.nodes.items() if a == addr), None)
        return next(iter(self.spec.redis.nodes), None) if not self.spec.redis.sentinels else None

    def postgres_admin_dsn(self) -> str | None:
        return self.spec.postgres.dsn if self.spec.postgres else None

    def destructive_allowed(self, node: str) -> bool:
        return self.allow_destructive and node in self.spec.chaos_targets

    def kill_node(self, node: str) -> None:
        raise NotControllable(f"{node} is run by someone else: cachechaos cannot kill or restart it")

    def start_node(self, node: str) -> None:
        raise NotControllable(f"{node} is run by someone else: cachechaos cannot kill or restart it")

    def restart_backends(self) -> None:
        raise NotControllable("the backends are run by someone else: cachechaos cannot restart them")

    def close(self) -> None:
        """Nothing to tear down: the toolkit started nothing."""
