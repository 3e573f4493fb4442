"""Stampede trigger: hot keys expire at once under load."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from cachechaos.faults.base import Fault, FaultParams, register
from cachechaos.runtime.target import RedisAdmin


class ExpireKeysParams(FaultParams):
    type: Literal["expire_keys"] = "expire_keys"
    keys: list[str] = Field(default_factory=list, description="exact Redis keys, e.g. product:1")
    pattern: str | None = Field(None, description="SCAN MATCH pattern, e.g. product:*")
    ttl_ms: int = Field(0, ge=0, description="0 = delete now; otherwise give every key this same TTL (they expire together)")
    node: str = "primary"

    @model_validator(mode="after")
    def _something(self) -> ExpireKeysParams:
        if not self.keys and not self.pattern:
            raise ValueError("name keys or a pattern")
        return self


@register
class ExpireKeys(Fault[ExpireKeysParams]):
    type = "expire_keys"
    requires = (RedisAdmin,)
    params_model = ExpireKeysParams
    one_shot = True
    destructive = True

    def inject(self) -> dict[str, Any]:
        node = self.resolve_node(self.params.node)
        with self.ctx.redis.redis_admin(node) as r:
            keys = list(self.params.keys)
            if self.params.pattern:
                keys += [k.decode() if isinstance(k, bytes) else k for k in r.scan_iter(match=self.params.pattern, count=1000)]
            pipe = r.pipeline(transaction=False)
            for key in keys:
                if self.params.ttl_ms:
                    pipe.pexpire(key, self.params.ttl_ms)
                else:
                    pipe.delete(key)
            done = sum(int(bool(x)) for x in pipe.execute()) if keys else 0
        return {"node": node, "keys": len(keys), "affected": done, "ttl_ms": self.params.ttl_ms}
