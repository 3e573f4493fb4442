"""The external topology file (`kind: external`): a system someone else runs, named by its endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cachechaos.adapters.model import AdapterSpec, key_count
from cachechaos.yamlmodel import Strict

# Without a declared TTL: long enough for the short TTLs a test deployment tends to use.
DEFAULT_QUIESCENCE_S = 5.0



class ExternalRedis(Strict):
    sentinels: list[str] = Field(default_factory=list, description="host:port of each Sentinel")
    master_name: str = "mymaster"
    nodes: dict[str, str] = Field(default_factory=dict, description="node name -> host:port, for INFO and admin faults")
    username: str | None = Field(default=None, description="ACL user for the nodes (Redis 6+); default: the default user")
    password: str | None = Field(default=None, description="the nodes' password (requirepass, or the ACL user's); never written "
                                                   "to a run directory")
    sentinel_password: str | None = Field(default=None, description="the Sentinels' password (their requirepass), if they ask one")


class ExternalCatalog(Strict):
    """What the service holds: the traffic draws ids from these ranges."""

    products: int = Field(10_000, ge=1, description="product ids 1..products exist")
    categories: int = Field(100, ge=1, description="category ids 1..categories exist")
    users: int = Field(1_000, ge=1, description="cart user ids 1..users")
    stock: int = Field(100, ge=0, description="initial stock of every product (the oversell check's bound)")


class VersionTable(Strict):
    """Where the source of truth keeps one kind of row: SQL final reads run `SELECT key, version FROM table`."""

    table: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
    key: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="column holding the product id / cart user id")
    version: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="column holding the row's version")


class VersionTables(Strict):
    """Where an attached service's source of truth keeps its rows, for final reads in SQL."""

    tables: dict[Literal["products", "carts"], VersionTable] = Field(
        default_factory=dict,
        description="final reads in SQL for these kinds of row; kinds not mapped are read through the backend",
    )


class ExternalPostgres(VersionTables):
    dsn: str = Field(description="DSN for sampling pg_stat_database (and SQL final reads when `tables` maps them)")


class ExternalCache(Strict):
    """What the service caches, as far as the toolkit needs to know."""

    max_ttl_s: float | None = Field(None, ge=0, description="the longest TTL any cache layer of the service gives an entry")


class ExternalFinalReads(Strict):
    quiescence_s: float | None = Field(
        None, ge=0, le=3600,
        description="wait after the load before the final reads (default: cache.max_ttl_s + 1 s, else 5 s)",
    )


class ExternalToxiproxy(Strict):
    url: str = Field(description="Toxiproxy API URL; link faults name its proxies")


class AttachedTopologySpec(Strict):
    """What every topology the toolkit attaches to (and does not run) declares besides its endpoints:
    what the service holds and caches, how to read it back, what faults may touch, its adapter.
    `kind: external` names endpoints; `kind: compose` names the services of a compose project."""

    kind: str  # each kind narrows it to its name
    name: str = "external"
    catalog: ExternalCatalog = Field(default_factory=ExternalCatalog)  # type: ignore[arg-type]
    postgres: VersionTables | None = Field(default=None, description="optional: without it the checks that need PostgreSQL say so")
    cache: ExternalCache = Field(default_factory=ExternalCache)  # type: ignore[arg-type]
    final_reads: ExternalFinalReads = Field(default_factory=ExternalFinalReads)  # type: ignore[arg-type]
    chaos_targets: list[str] = Field(default_factory=list, description="nodes destructive faults may touch (with --allow-destructive)")
    adapter: AdapterSpec | None = Field(
        None, description="how the toolkit's operations map onto the service's own API (inline, or the path of a YAML "
                          "file); without it the backends must honour the sample backend's contract")

    @model_validator(mode="after")
    def _catalog_of_adapter(self) -> AttachedTopologySpec:
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


class ExternalTopologySpec(AttachedTopologySpec):
    kind: Literal["external"] = "external"
    backends: list[str] = Field(min_length=1, description="base URLs of backend instances")
    redis: ExternalRedis = Field(default_factory=ExternalRedis)
    postgres: ExternalPostgres | None = Field(default=None, description="optional: without it the checks that need PostgreSQL say so")
    toxiproxy: ExternalToxiproxy | None = None
