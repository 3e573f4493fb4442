"""The external topology file (`kind: external`): a system someone else runs, named by its endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from cachechaos.adapters.model import AdapterSpec, key_count
from cachechaos.metric_names import MetricNames
from cachechaos.runtime.link_roles import check_role
from cachechaos.yamlmodel import Strict

# Without a declared TTL: long enough for the short TTLs a test deployment tends to use.
DEFAULT_QUIESCENCE_S = 5.0
# The production checklist's freshness budget of a catalogue (docs/gate-your-service.md).
CATALOGUE_BUDGET_S = 60.0


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
    freshness_budget_s: float | None = Field(
        None, gt=0, le=3600, description="how old a read may be after a write was acknowledged (the freshness-budget "
                                          "row's window; default: the checklist's catalogue budget, 60 s)")

    key_template: str | None = Field(
        None, pattern=r"^[^{}]*\{key\}[^{}]*$",
        description="the Redis key your service caches a product under, e.g. item:{key}: rows that expire or evict "
                    "hot keys (stampede) touch these keys")

    def freshness_budget(self) -> float:
        return self.freshness_budget_s if self.freshness_budget_s is not None else CATALOGUE_BUDGET_S


class ServiceLevels(Strict):
    """The bounds the checklist's rows hold a user's service to (the lecture's checklist by default)."""

    p99_ms: float = Field(100.0, gt=0, description="response time p99 of reads and writes, in ms")
    error_rate: float = Field(0.01, ge=0, le=1, description="share of requests that may fail")
    recovery_s: float = Field(120.0, gt=0, description="time to recover a hit rate after a flush, a deploy or a failover")
    hit_rate: float = Field(0.8, ge=0, le=1, description="lowest cache hit rate")
    db_amplification: float = Field(2.0, gt=0, description="peak DB query rate under a fault over the baseline's")
    stale_reads: float = Field(0.01, ge=0, le=1, description="share of reads older than the freshness budget")


class GateLoad(Strict):
    """The load the checklist's rows drive at a user's service: never more than this, whatever the row says."""

    rate_per_s: float = Field(50.0, gt=0, le=100_000, description="arrivals per second of every gate row")
    rows: dict[str, Annotated[float, Field(gt=0, le=100_000)]] = Field(
        default_factory=dict, description="row name -> its own arrival rate, instead of rate_per_s (a row that needs "
                                          "many reads per hot key: eviction-policy, stampede)")

    def rate_of(self, row: str) -> float:
        return self.rows.get(row, self.rate_per_s)


class ExternalFinalReads(Strict):
    quiescence_s: float | None = Field(
        None, ge=0, le=3600,
        description="wait after the load before the final reads (default: cache.max_ttl_s + 1 s, else 5 s)",
    )


class ProxyRoles(Strict):
    links: dict[str, str] = Field(
        default_factory=dict,
        description="role -> proxy name (or a glob naming several, e.g. pubsub.*): the proxy on your service's path to "
                    "PostgreSQL (`database`), to the Redis primary (`redis`), to the invalidation channel "
                    "(`invalidation`), to the Sentinels (`sentinel`); `database.backend-1`, `redis.backend-1`, "
                    "`sentinel.backend-1` for one backend's own path (cachechaos.runtime.link_roles). Gate rows act on "
                    "these links")

    @model_validator(mode="after")
    def _known_roles(self) -> ProxyRoles:
        for role in self.links:
            check_role(role)
        return self


class ExternalToxiproxy(ProxyRoles):
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
    offers: list[Literal["x_cache", "metrics", "carts", "orders", "discount"]] = Field(
        default_factory=list,
        description="optional parts of the backend contract the service has, taken as said: the ones the probe does not "
                    "call (orders, discount: they would sell stock, rewrite prices), and for kind compose, which the gate "
                    "does not probe, the X-Cache header, db_queries_total in /metrics and carts")
    slo: ServiceLevels = Field(default_factory=ServiceLevels,  # type: ignore[arg-type]
                               description="the bounds `cachechaos gate` holds the service to")
    load: GateLoad = Field(default_factory=GateLoad,  # type: ignore[arg-type]
                           description="the arrival rate of every `cachechaos gate` row")
    metrics: MetricNames | None = Field(
        None, description="your service's own Prometheus names for DB queries and each cache layer's hits and misses "
                          "(cachechaos.metric_names): DB amplification and hit rates from counters read them")
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
