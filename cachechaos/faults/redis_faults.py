"""Faults on Redis itself: FLUSHALL and CONFIG SET with restore."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import redis
from pydantic import Field, model_validator

from cachechaos.faults.base import Fault, FaultParams, register, resolve_redis_node
from cachechaos.heal import redis_config_step
from cachechaos.runtime.target import RedisAdmin


class FlushallParams(FaultParams):
    type: Literal["flushall"] = "flushall"
    node: str = Field("primary", description="primary, replica or a node name")


@register
class Flushall(Fault[FlushallParams]):
    """Every key gone at once: the cold cache after a panicked FLUSHALL."""

    type = "flushall"
    requires = (RedisAdmin,)
    params_model = FlushallParams
    one_shot = True
    destructive = True

    def inject(self) -> dict[str, Any]:
        node = self.resolve_node(self.params.node)
        with self.ctx.redis.redis_admin(node) as r:
            keys = int(r.dbsize())
            r.flushall()
        return {"node": node, "keys_flushed": keys}


class RedisConfigParams(FaultParams):
    type: Literal["redis_config"] = "redis_config"
    node: str = Field("all", description="all, primary, replica or a node name")
    settings: dict[str, str | int] = Field(description="CONFIG SET pairs, e.g. {maxmemory: 2mb, maxmemory-policy: allkeys-random}")


class _ConfigChange(Fault[Any]):
    """CONFIG SET on some nodes for the fault's duration; heal restores the values read before."""

    destructive = True
    requires = (RedisAdmin,)

    def __init__(self, params: Any, ctx: Any) -> None:
        super().__init__(params, ctx)
        self._saved: dict[str, dict[str, str]] = {}

    def _nodes(self) -> list[str]:
        if self.params.node == "all":
            return self.ctx.redis.redis_names()
        return [resolve_redis_node(self.ctx.target, self.params.node)]

    def _apply(self, settings: dict[str, str | int],
                of_node: Callable[[redis.Redis], dict[str, str | int]] | None = None) -> dict[str, Any]:
        """CONFIG SET `settings` on every node, with what `of_node` computes from each node itself."""
        nodes = self._nodes()
        for node in nodes:
            self.check_allowed(node)
        applied: dict[str, dict[str, str | int]] = {}
        for node in nodes:
            with self.ctx.redis.redis_admin(node) as r:
                mine = applied[node] = {**settings, **(of_node(r) if of_node is not None else {})}
                saved = {}
                for key in mine:
                    current = r.config_get(key)
                    if key not in current:
                        raise ValueError(f"Redis has no config parameter {key!r}")
                    saved[key] = current[key]
                # Saved before any change, so heal restores even after a half-applied inject.
                self._saved[node] = saved
                self.will_heal(redis_config_step(node, r, saved))
                for key, value in mine.items():
                    r.config_set(key, value)
        return {"nodes": nodes, "settings": applied, "previous": self._saved}

    def heal(self) -> dict[str, Any]:
        restored: dict[str, dict[str, str]] = {}
        errors: list[str] = []
        for node, saved in self._saved.items():
            try:
                with self.ctx.redis.redis_admin(node) as r:
                    for key, value in saved.items():
                        r.config_set(key, value)
                restored[node] = saved
            except Exception as exc:
                errors.append(f"{node}: {exc}")
        if errors:
            raise RuntimeError("could not restore Redis config on " + "; ".join(errors))
        return {"restored": restored}


@register
class RedisConfig(_ConfigChange):
    """CONFIG SET given settings (maxmemory, maxmemory-policy, ...), restored on heal."""

    type = "redis_config"
    params_model = RedisConfigParams

    def inject(self) -> dict[str, Any]:
        return self._apply(self.params.settings)


class MemoryPressureParams(FaultParams):
    type: Literal["memory_pressure"] = "memory_pressure"
    node: str = Field("all", description="all, primary, replica or a node name")
    keep_fraction: float = Field(0.25, gt=0, lt=1, description="share of the current keys that still fit")
    keep_keys: int | None = Field(None, ge=1, description="room for this many of the current keys instead of a share")
    headroom_kb: int = Field(256, ge=0, description="added to the limit for Redis's own overhead growing under eviction (client and replication buffers)")
    policy: str | None = Field(None, description="maxmemory-policy to switch to (default: keep the node's)")

    @model_validator(mode="after")
    def _one_size(self) -> MemoryPressureParams:
        if self.keep_keys is not None and "keep_fraction" in self.model_fields_set:
            raise ValueError("give keep_fraction or keep_keys, not both")
        return self

    def kept(self, keys: int) -> int:
        """How many of the node's `keys` should still fit."""
        return min(self.keep_keys, keys) if self.keep_keys is not None else int(keys * self.keep_fraction)


def pressure_limit(used_memory: int, keys: int, key_bytes: float, params: MemoryPressureParams) -> int:
    """maxmemory = what is used now, less the keys that should no longer fit, plus headroom.

    `key_bytes` is the average MEMORY USAGE of a key, sampled at inject. Computed in keys rather
    than given in bytes, so the pressure is the same whatever Redis's own overhead (client
    buffers, replication backlog, version) happens to be in this run.
    """
    evicted = keys - params.kept(keys)
    return max(1, used_memory - int(evicted * key_bytes) + params.headroom_kb * 1024)


def sample_key_bytes(r: redis.Redis, samples: int = 64) -> float:
    """Average MEMORY USAGE of `samples` random keys (0 when the node is empty); two round trips."""
    pipe = r.pipeline(transaction=False)
    for _ in range(samples):
        pipe.randomkey()
    keys = [k for k in pipe.execute() if k is not None]
    for key in keys:
        pipe.memory_usage(key)
    sizes = [int(n) for n in pipe.execute() if n is not None] if keys else []
    return sum(sizes) / len(sizes) if sizes else 0.0


@register
class MemoryPressure(_ConfigChange):
    """Lower maxmemory below what the dataset needs now (and optionally switch the eviction policy)."""

    type = "memory_pressure"
    params_model = MemoryPressureParams

    def inject(self) -> dict[str, Any]:
        measured: list[dict[str, int]] = []  # in the order _apply visits the nodes

        def limit(r: redis.Redis) -> dict[str, str | int]:
            # Each node's own: a primary holds more than its replica (client and replication buffers,
            # keys not yet replicated), and one limit taken from the replica would empty the primary.
            keys, key_bytes, used = int(r.dbsize()), sample_key_bytes(r), int(r.info("memory")["used_memory"])
            measured.append({"used_memory": used, "keys": keys, "key_bytes": round(key_bytes)})
            return {"maxmemory": pressure_limit(used, keys, key_bytes, self.params)}

        settings: dict[str, str | int] = {"maxmemory-policy": self.params.policy} if self.params.policy else {}
        details = self._apply(settings, limit)
        return {**details, "measured": dict(zip(details["nodes"], measured, strict=True))}
