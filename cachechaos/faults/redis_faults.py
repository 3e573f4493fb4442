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


@register
class RedisConfig(Fault[RedisConfigParams]):
    """CONFIG SET for the fault's duration; heal restores the values read before."""

    type = "redis_config"
    params_model = RedisConfigParams
    destructive = True

    def __init__(self, params: RedisConfigParams, ctx: Any) -> None:
        super().__init__(params, ctx)
        self._saved: dict[str, dict[str, str]] = {}

    def _nodes(self) -> list[str]:
        if self.params.node == "all":
            return self.ctx.target.redis_names()
        return [resolve_redis_node(self.ctx.target, self.params.node)]

    def inject(self) -> dict[str, Any]:
        nodes = self._nodes()
        for node in nodes:
            self.check_allowed(node)
        for node in nodes:
            with self.ctx.target.redis_admin(node) as r:
                saved = {}
                for key in self.params.settings:
                    current = r.config_get(key)
                    if key not in current:
                        raise ValueError(f"Redis has no config parameter {key!r}")
                    saved[key] = current[key]
                # Saved before any change, so heal restores even after a half-applied inject.
                self._saved[node] = saved
                for key, value in self.params.settings.items():
                    r.config_set(key, value)
        return {"nodes": nodes, "settings": self.params.settings, "previous": self._saved}

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
