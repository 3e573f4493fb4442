"""Failover faults: a Sentinel-initiated failover, and a partition of the primary (split brain)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cachechaos.faults.base import Fault, FaultParams, register
from cachechaos.heal import enable_proxy_step
from cachechaos.names import SENTINEL, kind_of, link_for, parse_link
from cachechaos.runtime.link_roles import partition_cut
from cachechaos.runtime.ports import split_address
from cachechaos.runtime.target import ProxyControl, RedisAdmin, SentinelAuth


class SentinelFailoverParams(FaultParams):
    type: Literal["sentinel_failover"] = "sentinel_failover"


@register
class SentinelFailover(Fault[SentinelFailoverParams]):
    """SENTINEL FAILOVER: a clean promotion of a replica, the old primary demoted but alive."""

    type = "sentinel_failover"
    requires = (RedisAdmin,)
    params_model = SentinelFailoverParams
    one_shot = True
    destructive = True

    def inject(self) -> dict[str, Any]:
        import redis

        target = self.ctx.target
        old = self.resolve_node("primary")
        password = target.sentinel_password() if isinstance(target, SentinelAuth) else None
        errors = []
        for address in target.endpoints.sentinels:
            host, port = split_address(address)
            try:
                with redis.Redis(host=host, port=port, password=password, socket_timeout=2) as sentinel:
                    sentinel.execute_command("SENTINEL", "FAILOVER", target.endpoints.master_name)
                return {"old_primary": old, "via": address}
            except redis.RedisError as exc:
                errors.append(f"{address}: {exc}")
        raise RuntimeError("no Sentinel accepted SENTINEL FAILOVER: " + "; ".join(errors))


class PartitionParams(FaultParams):
    type: Literal["partition"] = "partition"
    node: str = Field("primary", description="the Redis node to isolate (primary, replica or a name)")
    backends_cut: float = Field(
        0.5, ge=0, le=1,
        description="share of backends on the majority side (cut from the node); the others stay with it, cut from the Sentinels",
    )
    links: dict[str, str] = Field(
        default_factory=dict,
        description="on a topology cachechaos attaches to: its Toxiproxy proxies by role (toxiproxy.links: redis, "
                    "redis.backend-N, sentinel.backend-N; cachechaos.runtime.link_roles); empty: the links as cachechaos "
                    "names them (redis-1.backend-2, ...)",
    )


@register
class Partition(Fault[PartitionParams]):
    """A network partition at proxy level: the node and a minority of backends on one side.

    The node loses its link to the Sentinels and the replica (its shared link), the
    majority backends lose their own links to it, and the minority backends lose
    their links to the Sentinels, so they keep writing to the node they know: a
    split brain. Needs per-backend links: the ones the local runtime creates, or on an attached
    topology the proxies its roles name (`links`).
    """

    type = "partition"
    requires = (ProxyControl, RedisAdmin)
    params_model = PartitionParams
    destructive = True

    def _plan(self, node: str) -> tuple[list[str], list[str], list[str]]:
        endpoints = self.ctx.target.endpoints
        links = endpoints.links
        backends = list(endpoints.backends)
        cut_count = round(len(backends) * self.params.backends_cut)
        majority, minority = backends[:cut_count], backends[cut_count:]
        if self.params.links:
            cut, lacking = partition_cut(node, endpoints.redis.get(node), majority, minority, self.params.links, links)
            if lacking:
                raise RuntimeError(f"partition of {node} found no proxy for role(s) {', '.join(lacking)} among "
                                   f"{', '.join(sorted(links))}")
            return cut, majority, minority
        to_disable = [link_for(node)] + [link_for(node, b) for b in majority]
        to_disable += [name for name in links if (parsed := parse_link(name)).client in minority
                       and kind_of(parsed.node) == SENTINEL]
        missing = [name for name in to_disable if name not in links]
        if missing:
            raise RuntimeError(f"partition needs per-backend links, missing: {', '.join(missing)}")
        return to_disable, majority, minority

    def inject(self) -> dict[str, Any]:
        node = self.resolve_node(self.params.node)
        links, majority, minority = self._plan(node)
        self._disabled: list[str] = []
        with self.ctx.proxies.proxy_client() as client:
            for link in links:
                self.will_heal(enable_proxy_step(self.ctx.target.endpoints.proxy_api, link))
                client.disable(link)
                self._disabled.append(link)
        return {"node": node, "links_cut": self._disabled, "majority_backends": majority,
                "minority_backends": minority}

    def heal(self) -> dict[str, Any]:
        with self.ctx.proxies.proxy_client() as client:
            for link in getattr(self, "_disabled", []):
                client.enable(link)
        return {"links_restored": getattr(self, "_disabled", [])}
