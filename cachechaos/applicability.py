"""Which checklist rows a target can run: what each row needs, what a target has, and the matching.

A row's needs follow from its parts, declared here once for the probe and the gate:

- the traffic operations its criteria read (carts, orders, the bulk sale), from `ACTION_NEEDS`;
- each fault, with the capability it requires and the role it acts on (`fault_needs`): the proxy on
  the service's path to PostgreSQL, to Redis or to the invalidation channel; admin on a Redis node
  in `chaos_targets`; the containers of the backends or of Redis;
- what each criterion reads (`criterion_needs`): the history alone, the serving layer of each read,
  a DB query rate, Redis's own counters, final reads of carts.

A target says what it has per instance (`offer_of`): a sample backend cachechaos runs has
everything; an attached service has what its topology names and the probe found answering. A
row whose faults or mechanism criterion the target cannot serve is not applicable, and each
missing piece is phrased as the line to add to the topology (`NEED_LINES`). A criterion that is
not the row's mechanism and that the target cannot serve is left out of the run with a note (the
load row's cart p99 on a service without carts); so is a traffic action nothing reads.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from cachechaos.checks.criteria import Criterion
from cachechaos.faults import FaultSpec
from cachechaos.metric_names import DB_QUERIES, hits_name
from cachechaos.names import kind_of
from cachechaos.runtime import link_roles

if TYPE_CHECKING:
    from cachechaos.runtime.external_spec import AttachedTopologySpec
    from cachechaos.runtimes import AnyTopologySpec

# Every need a row can have, with the line a user adds to the topology to meet it.
NEED_LINES: dict[str, str] = {
    "carts": "needs cart reads and writes: GET|PUT /carts/{user} on your service (kind compose: offers: [carts]), or "
             "adapter operations cart_read and cart_write",
    "orders": "needs orders (POST /orders is not probed: it would sell stock): offers: [orders], or adapter operation "
              "`order`",
    "discount": "needs a bulk update (POST /categories/{id}/discount is not probed: it would rewrite prices): "
                "offers: [discount], or adapter operation `bulk_update`",
    "layer": "needs the layer that served each read: an `X-Cache: l1|l2|miss` header (kind compose: offers: [x_cache]), "
             "or adapter.layer_header / adapter.layer_path (JMESPath into the read's body)",
    "db_rate": "needs a DB query rate: postgres.dsn: <dsn> (pg_stat_database)",
    "backend_db_rate": "needs the backends' DB query counter in your /metrics: metrics.db_queries: <your counter's "
                       "name> (or db_queries_total itself; kind compose: offers: [metrics])",
    "l1_counters": "needs your in-process cache's hit and miss counters in /metrics: metrics: {l1_hits: <name>, "
                   "l1_misses: <name>}",
    "l2_counters": "needs your shared cache's hit and miss counters: redis.nodes (Redis INFO), or metrics: "
                   "{l2_hits: <name>, l2_misses: <name>}",
    "redis_stats": "needs INFO of your Redis nodes: redis.nodes: {<name>: <host:port>}",
    "redis_admin": "needs admin on a Redis node: list it in redis.nodes and in chaos_targets (faults act with "
                   "--allow-destructive)",
    "sentinel": "needs your Sentinels, naming the primary: redis.sentinels: [<host:port>]",
    "primary_target": "needs the Redis primary as a chaos target: its node in chaos_targets (with --allow-destructive)",
    "redis_processes": "needs container control of your Redis nodes: `kind: compose` with the Redis services in "
                       "chaos_targets",
    "backend_processes": "needs container control of your backends: `kind: compose` with the backend services in "
                         "chaos_targets",
    "key_template": "needs the Redis key your service caches a product under: cache.key_template: \"<prefix>{key}\"",
}

# Where a need is met, for saying what a possible check reads.
SOURCES: dict[str, str] = {"layer": "the layer that served each read", "db_rate": "pg_stat_database",
                           "backend_db_rate": "the backends' db_queries_total", "redis_stats": "Redis INFO",
                           "sentinel": "the Sentinels", "carts": "cart reads and writes", "orders": "orders",
                           "l1_counters": "the backends' L1 hit and miss counters",
                           "l2_counters": "L2 hit and miss counters (Redis INFO or the backends' own)"}

# What each optional part of the contract a topology says it `offers` meets.
OFFERED = {"x_cache": ("layer",), "metrics": ("backend_db_rate", "l1_counters"), "carts": ("carts",),
           "orders": ("orders",), "discount": ("discount",)}

# Traffic actions beyond the product contract (reads, writes, absent ids), and what each needs.
ACTION_NEEDS: dict[str, str] = {"cart_read": "carts", "cart_write": "carts", "checkout": "orders", "discount": "discount"}

# Series of recovery_time / series_stat, and the source each is read from.
SERIES_NEEDS: dict[str, str] = {"l1_hit_rate": "layer", "hit_rate": "layer", "layer_share:l1": "layer",
                                "layer_share:l2": "layer", "layer_share:miss": "layer", "l2_hit_rate": "redis_stats",
                                "redis_ops": "redis_stats", "evicted_keys_per_s": "redis_stats", "db_qps": "db_rate",
                                "backend_db_qps": "backend_db_rate"}


def link_role(link: str) -> str | None:
    """The role of one of the sample topology's links (cachechaos.runtime.link_roles.role_of)."""
    return link_roles.role_of(link)


def fault_needs(fault: FaultSpec) -> set[str]:
    """What a fault needs of a target it does not run itself."""
    return fault_type_needs(fault.type, fault.model_dump())


def fault_type_needs(kind: str, params: dict[str, Any]) -> set[str]:
    if kind in ("latency", "timeout", "down"):
        link = str(params.get("link", ""))
        role = link_role(link) if link else None
        return {f"link:{role}" if role else f"link {link or '<name>'}"}
    if kind in ("flushall", "redis_config", "memory_pressure"):
        return {"redis_admin"}
    if kind == "expire_keys":
        return {"redis_admin", "key_template"}
    if kind == "sentinel_failover":
        return {"sentinel", "primary_target"}
    if kind in ("kill", "restart", "pause", "disconnect"):
        return {"backend_processes" if kind_of(str(params.get("node", ""))) == "backend" else "redis_processes"}
    if kind == "restart_backends":
        return {"backend_processes"}
    if kind == "partition":
        return {"sentinel", "primary_target", *(f"link:{role}" for role in link_roles.PARTITION_ROLES)}
    if kind == "bulk_discount":
        return {"discount"}
    return {f"fault {kind}"}


def criterion_needs(criterion: Criterion) -> set[str]:
    return check_needs(criterion.check, criterion.params)


def check_needs(check: str, params: dict[str, Any]) -> set[str]:
    """What a check with these parameters reads beyond the history of reads and writes every target records."""
    needs: set[str] = set()
    if params.get("route") == "cart" or params.get("op") == "cart":
        needs.add("carts")
    if check == "oversell":
        needs.add("orders")
    if check == "failover_time":
        needs.add("sentinel")
    if check == "hit_rate":
        needs.add("layer" if params.get("source", "history") == "history"
                  else "l2_counters" if params.get("layer") == "l2" else "l1_counters")
    if check == "key_redis_rate":
        needs.add("layer")
    if check == "db_amplification":
        needs.add("db_rate" if params.get("source", "postgres") == "postgres" else "backend_db_rate")
    if check in ("recovery_time", "series_stat"):
        needs.add(SERIES_NEEDS.get(str(params.get("metric", "l2_hit_rate")), "history"))
    needs.discard("history")
    return needs


@dataclass(frozen=True)
class Offer:
    """What one target instance has, as need names (`everything`: a sample backend cachechaos runs)."""

    name: str
    has: frozenset[str] = frozenset()
    everything: bool = False

    def lacks(self, needs: Iterable[str]) -> list[str]:
        return [] if self.everything else sorted(n for n in set(needs) if n not in self.has)


@dataclass
class RowApplicability:
    """One row against one target: whether it runs, and the lines that would make the rest run."""

    experiment: str
    applicable: bool
    missing: list[str] = field(default_factory=list)         # lines to add, when the row cannot run
    left_out: list[str] = field(default_factory=list)        # criteria and actions the run leaves out, and why
    dropped_criteria: list[str] = field(default_factory=list)
    dropped_actions: list[str] = field(default_factory=list)
    from_counters: list[str] = field(default_factory=list)  # hit-rate criteria read from counters, not X-Cache

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_ROLE_PATHS = {"database": "PostgreSQL", "redis": "the Redis nodes", "sentinel": "the Sentinels",
               "invalidation": "its invalidation channel"}


def line(need: str) -> str:
    """The line to add to the topology that meets `need`."""
    if need in NEED_LINES:
        return NEED_LINES[need]
    if need.startswith("link:"):
        role = need.removeprefix("link:")
        base, _, backend = role.partition(".")
        if backend == "backend-*":  # every backend's own path
            return (f"needs each backend's own Toxiproxy proxy to {_ROLE_PATHS.get(base, base)}: "
                    f"toxiproxy.links.{base}.backend-1: <proxy name> (a line per backend; a glob names one proxy per node)")
        where = _ROLE_PATHS.get(base, base) + (f" from {backend}" if backend else "")
        if base == "redis" and not backend:
            where += " that the Sentinels and replicas take"
        return f"needs a Toxiproxy proxy on your service's path to {where}: toxiproxy.links.{role}: <proxy name>"
    return f"needs {need}"


@dataclass
class ProbeSeen:
    """What the backend probes learned, for the capability table."""

    reads: bool = False
    versions: bool = False
    absent_404: bool = False
    x_cache: bool = False
    bypass: bool | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    carts: bool | None = None
    redis_ok: list[str] = field(default_factory=list)
    sentinel_primary: str | None = None
    postgres: bool = False
    proxies: list[str] = field(default_factory=list)


def _probe_has(seen: ProbeSeen) -> set[str]:
    has: set[str] = set()
    if seen.x_cache:
        has.add("layer")
    if seen.carts:
        has.add("carts")
    if seen.postgres:
        has.add("db_rate")
    if any(k.split("{")[0] == DB_QUERIES for k in seen.metrics):
        has.add("backend_db_rate")  # the probe's samples carry the toolkit's names, mapped from the service's
    has.update(f"{layer}_counters" for layer in ("l1", "l2") if hits_name(layer) in seen.metrics)
    if seen.redis_ok:
        has.add("redis_stats")
    return has


def offer_of(topology: AnyTopologySpec | AttachedTopologySpec, seen: ProbeSeen | None = None) -> Offer:
    """What a target instance has. A topology cachechaos runs has everything; an attached one has what
    it names, narrowed by what the probe (`seen`) found answering when there is a probe."""
    from cachechaos.runtime.compose_spec import ComposeTopologySpec
    from cachechaos.runtime.external_spec import AttachedTopologySpec, ExternalTopologySpec

    if not isinstance(topology, AttachedTopologySpec):
        return Offer(topology.name, everything=True)
    has: set[str] = set()
    adapter = topology.adapter
    if adapter is not None:
        has.update(need for action, need in ACTION_NEEDS.items()
                   if adapter.implements({"cart_read": "cart_read", "cart_write": "cart_write", "checkout": "order",
                                          "discount": "bulk_update"}[action]))
        if adapter.layer_header or adapter.layer_path:
            has.add("layer")
    targets = set(topology.chaos_targets)
    if topology.cache.key_template is not None:
        has.add("key_template")
    proxies = topology.toxiproxy.links if isinstance(topology, (ExternalTopologySpec, ComposeTopologySpec)) and \
        topology.toxiproxy is not None else {}
    for role, proxy in proxies.items():
        if seen is None or fnmatch.filter(seen.proxies, proxy):
            has.add(f"link:{role}")
    count = len(topology.backends) if isinstance(topology, (ExternalTopologySpec, ComposeTopologySpec)) else 0
    backends = [f"backend-{i}" for i in range(1, count + 1)]  # as the runtimes name them (cachechaos.names)
    for role in link_roles.PARTITION_ROLES:  # roles per backend: declared (and found) for every backend
        if "backend-*" in role and link_roles.declared(role, (r.removeprefix("link:") for r in has), backends):
            has.add(f"link:{role}")
    has.update(need for part in topology.offers for need in OFFERED[part])
    if topology.metrics is not None:
        has.update(f"{layer}_counters" for layer in topology.metrics.layers())
        if topology.metrics.db_queries is not None and seen is None:
            has.add("backend_db_rate")
    if isinstance(topology, ExternalTopologySpec):
        nodes = set(seen.redis_ok) if seen is not None else set(topology.redis.nodes)
        if nodes & targets:
            has.add("redis_admin")
        if seen.sentinel_primary is not None if seen is not None else topology.redis.sentinels:
            has.add("sentinel")
        if (seen.sentinel_primary in targets) if seen is not None else bool(topology.redis.sentinels and nodes & targets):
            has.add("primary_target")
        if topology.postgres is not None and seen is None:
            has.add("db_rate")
        if topology.redis.nodes and seen is None:
            has.add("redis_stats")
    else:
        assert isinstance(topology, ComposeTopologySpec)
        redis_nodes = set(topology.redis.nodes)
        if redis_nodes:
            has.add("redis_stats")
        if redis_nodes & targets:
            has.update({"redis_admin", "redis_processes"})
            if topology.redis.sentinels:
                has.add("primary_target")
        if topology.redis.sentinels:
            has.add("sentinel")
        if {b.service for b in topology.backends} & targets:
            has.add("backend_processes")
        if topology.postgres is not None:
            has.add("db_rate")
    if seen is not None:
        has |= _probe_has(seen)
    if "redis_stats" in has:
        has.add("l2_counters")  # Redis's own keyspace hits and misses
    return Offer(topology.name, frozenset(has))


def applicability_table(rows: list[RowApplicability]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in rows]
