"""Faults on Redis itself: FLUSHALL and CONFIG SET with restore."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cachechaos.faults.base import Fault, FaultParams, register, resolve_redis_node


class FlushallParams(FaultParams):
    type: Literal["flushall"] = "flushall"
    node: str = Field("primary", description="primary, replica or a node name")


@register
class Flushall(Fault[FlushallParams]):
    """Every key gone at once: the cold cache after a panicked FLUSHALL."""

    type = "flushall"
    params_model = FlushallParams
    one_shot = True
    destructive = True

    def inject(self) -> dict[str, Any]:
        node = self.resolve_node(self.params.node)
        with self.ctx.target.redis_admin(node) as r:
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

    def __init__(self, params: Any, ctx: Any) -> None:
        super().__init__(params, ctx)
        self._saved: dict[str, dict[str, str]] = {}

    def _nodes(self) -> list[str]:
        if self.params.node == "all":
            return self.ctx.target.redis_names()
        return [resolve_redis_node(self.ctx.target, self.params.node)]

    def _apply(self, settings: dict[str, str | int]) -> dict[str, Any]:
        nodes = self._nodes()
        for node in nodes:
            self.check_allowed(node)
        for node in nodes:
            with self.ctx.target.redis_admin(node) as r:
                saved = {}
                for key in settings:
                    current = r.config_get(key)
                    if key not in current:
                        raise ValueError(f"Redis has no config parameter {key!r}")
                    saved[key] = current[key]
                # Saved before any change, so heal restores even after a half-applied inject.
                self._saved[node] = saved
                for key, value in settings.items():
                    r.config_set(key, value)
        return {"nodes": nodes, "settings": settings, "previous": self._saved}

    def heal(self) -> dict[str, Any]:
        restored: dict[str, dict[str, str]] = {}
        errors: list[str] = []
        for node, saved in self._saved.items():
            try:
                with self.ctx.target.redis_admin(node) as r:
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
    keep_fraction: float = Field(0.25, gt=0, lt=1, description="share of the current dataset that still fits")
    policy: str | None = Field(None, description="maxmemory-policy to switch to (default: keep the node's)")


@register
class MemoryPressure(_ConfigChange):
    """Lower maxmemory below what the dataset needs now (and optionally switch the eviction policy).

    The limit is computed at inject from INFO memory, so the pressure is the same whatever
    Redis's own overhead (client buffers, replication backlog) happens to be in this run.
    """

    type = "memory_pressure"
    params_model = MemoryPressureParams

    def inject(self) -> dict[str, Any]:
        settings: dict[str, str | int] = {}
        node = self._nodes()[0]
        with self.ctx.target.redis_admin(node) as r:
            info = r.info("memory")
        used, dataset = int(info["used_memory"]), int(info.get("used_memory_dataset", info["used_memory"]))
        # Redis's own overhead grows a little under eviction (client and replication buffers);
        # 5% headroom keeps the node evicting instead of refusing writes with OOM.
        settings["maxmemory"] = max(1, used - int(dataset * (1 - self.params.keep_fraction)) + used // 20)
        if self.params.policy:
            settings["maxmemory-policy"] = self.params.policy
        details = self._apply(settings)
        return {**details, "used_memory": used, "dataset": dataset}
