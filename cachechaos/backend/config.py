"""Configuration of one backend instance, loaded from YAML or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The Redis nodes' and Sentinels' password, in the environment (a config file may sit where passwords must not).
REDIS_PASSWORD_ENV = "CACHECHAOS_REDIS_PASSWORD"

Strategy = Literal["none", "ttl", "delete", "set", "event", "lease", "versioned"]
CartStore = Literal["postgres", "redis"]


def split_address(addr: str) -> tuple[str, int]:
    """'host:port' -> (host, port); raises ValueError naming the address."""
    host, sep, port = addr.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{addr!r} is not a 'host:port' address")
    return host, int(port)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class L1Config(_Section):
    enabled: bool = True
    max_entries: int = Field(default=10_000, ge=1)
    ttl_s: float = Field(default=5.0, gt=0)


class L2Config(_Section):
    ttl_s: float = Field(default=300.0, gt=0)
    cart_ttl_s: float = Field(default=5.0, gt=0)


class SingleFlightConfig(_Section):
    enabled: bool = True


class JitterConfig(_Section):
    enabled: bool = False
    percent: float = Field(default=10.0, ge=0, lt=100)


class EarlyRefreshConfig(_Section):
    enabled: bool = False
    mode: Literal["xfetch", "window"] = "xfetch"
    beta: float = Field(default=1.0, gt=0)
    # For mode=window: refresh once the remaining L2 TTL drops below this.
    window_s: float = Field(default=30.0, ge=0)


class NegativeConfig(_Section):
    enabled: bool = False
    ttl_s: float = Field(default=60.0, gt=0)


class HotKeysConfig(_Section):
    enabled: bool = False
    threshold_rps: float = Field(default=100.0, gt=0)
    window_s: float = Field(default=1.0, gt=0)
    ttl_s: float = Field(default=2.0, gt=0)


class WarmupConfig(_Section):
    enabled: bool = False
    top_n: int = Field(default=1000, ge=0)
    batch_size: int = Field(default=100, ge=1)
    # Block startup (and so /health) until warm-up is done.
    blocking: bool = True
    # observed: the top_n most-read products, counted by every instance into a Redis sorted set
    # (popularity_key); orders: the most-ordered products, then by id (knows nothing of reads).
    source: Literal["observed", "orders"] = "observed"
    popularity_key: str = "cachechaos:popularity"


class EventConfig(_Section):
    channel: str = "cachechaos:invalidate"
    # Fallback TTL of L1 entries under the event strategy, bounding staleness if events are lost.
    fallback_ttl_s: float = Field(default=30.0, gt=0)


class LeaseConfig(_Section):
    ttl_ms: int = Field(default=2000, ge=1)
    wait_ms: int = Field(default=10, ge=1)
    max_wait_ms: int = Field(default=500, ge=0)
    # While another request holds the lease, answer with the last deleted value, flagged.
    serve_stale: bool = True
    stale_ttl_s: float = Field(default=10.0, gt=0)


class BulkDiscountBug(_Section):
    enabled: bool = False


class L1NoInvalidationBug(_Section):
    enabled: bool = False
    ttl_s: float = Field(default=300.0, gt=0)


class ServeStaleBug(_Section):
    enabled: bool = False
    probability: float = Field(default=0.0, ge=0, le=1)


class BugsConfig(_Section):
    bulk_discount_forgets_invalidation: BulkDiscountBug = Field(default_factory=BulkDiscountBug)
    l1_long_ttl_no_invalidation: L1NoInvalidationBug = Field(default_factory=L1NoInvalidationBug)
    serve_stale: ServeStaleBug = Field(default_factory=ServeStaleBug)


class BackendConfig(_Section):
    """Everything one instance needs; unknown keys are rejected so typos surface at start."""

    instance: str = "backend-1"
    strategy: Strategy = "delete"

    sentinels: list[str] = Field(default_factory=list)
    master_name: str = "cachechaos"
    sentinel_discovery: bool = True
    redis_url: str | None = None
    redis_timeout_ms: int = Field(default=200, ge=1)
    # After a Redis error skip Redis this long: a dead Redis costs one timeout, not one per request.
    redis_backoff_ms: int = Field(default=500, ge=0)
    # "host:port" as Sentinel (or redis_url) names a node -> "host:port" to dial instead, so a
    # fault can cut one path to a node without touching the others. Applied to whatever
    # address Sentinel names now, so failover-following still works.
    redis_address_map: dict[str, str] = Field(default_factory=dict)
    # The same for the invalidation subscriber (event strategy); keys it lacks come from
    # redis_address_map. Publishing goes over the data connections.
    pubsub_address_map: dict[str, str] = Field(default_factory=dict)
    # postgres: carts in PostgreSQL, cached in L2. redis: carts live only in Redis (the primary),
    # and a write Redis does not confirm is answered 503, never acknowledged.
    cart_store: CartStore = "postgres"

    postgres_dsn: str = "postgresql://cachechaos@127.0.0.1:5432/cachechaos"
    pg_pool_size: int = Field(default=10, ge=1)
    pg_timeout_ms: int = Field(default=2000, ge=1)

    l1: L1Config = Field(default_factory=L1Config)
    l2: L2Config = Field(default_factory=L2Config)
    single_flight: SingleFlightConfig = Field(default_factory=SingleFlightConfig)
    jitter: JitterConfig = Field(default_factory=JitterConfig)
    early_refresh: EarlyRefreshConfig = Field(default_factory=EarlyRefreshConfig)
    negative: NegativeConfig = Field(default_factory=NegativeConfig)
    hot_keys: HotKeysConfig = Field(default_factory=HotKeysConfig)
    warmup: WarmupConfig = Field(default_factory=WarmupConfig)
    event: EventConfig = Field(default_factory=EventConfig)
    lease: LeaseConfig = Field(default_factory=LeaseConfig)
    bugs: BugsConfig = Field(default_factory=BugsConfig)

    debug_hooks: bool = False
    log_level: str = "warning"

    @field_validator("redis_address_map", "pubsub_address_map")
    @classmethod
    def _addresses(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for src, dst in value.items():
            src_host, src_port = split_address(src)
            dst_host, dst_port = split_address(dst)
            out[f"{src_host}:{src_port}"] = f"{dst_host}:{dst_port}"
        return out

    @model_validator(mode="after")
    def _redis_reachable_somehow(self) -> BackendConfig:
        if not self.uses_redis:
            return self
        if self.sentinel_discovery and not self.sentinels:
            raise ValueError("sentinel_discovery is on but 'sentinels' is empty")
        if not self.sentinel_discovery and not self.redis_url:
            raise ValueError("sentinel_discovery is off: set 'redis_url'")
        return self

    @property
    def caches(self) -> bool:
        return self.strategy != "none"

    @property
    def uses_redis(self) -> bool:
        return self.caches or self.cart_store == "redis"

    def pubsub_map(self) -> dict[str, str]:
        """The subscriber's address map: its own entries over the data connections' ones."""
        return {**self.redis_address_map, **self.pubsub_address_map}


def load_config(path: str | Path) -> BackendConfig:
    """Read a YAML or JSON file (JSON is valid YAML, but keep the error messages precise)."""
    p = Path(path)
    text = p.read_text()
    data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    return BackendConfig.model_validate(data or {})
