"""Admin of Redis nodes over their addresses: one implementation for every runtime.

Faults and samplers reach a Redis node for INFO, FLUSHALL, CONFIG and DEBUG bypassing the fault
proxies, and ask the Sentinels which node is the primary. Every runtime has the same three things
to say: where admin reaches each node and each Sentinel, with which credentials, and by which
address the Sentinels name each node (a proxied one, usually). The local runtime gives its
processes' addresses, the Docker runtime its containers', an attached topology the ones it names
(`redis.nodes`); a compose project its services' published ports, through the attach mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import redis

from cachechaos.runtime.ports import split_address
from cachechaos.runtime.redis import as_text
from cachechaos.runtime.target import NotControllable

ADMIN_TIMEOUT_S = 1.0


def sentinel_master(sentinels: list[str], master_name: str, password: str | None = None) -> str | None:
    """`host:port` of the primary as the first Sentinel that answers names it (None: none does)."""
    for address in sentinels:
        host, port = split_address(address)
        try:
            with redis.Redis(host=host, port=port, password=password, socket_timeout=ADMIN_TIMEOUT_S) as s:
                found = s.execute_command("SENTINEL", "get-master-addr-by-name", master_name)
        except redis.RedisError:
            continue
        if found:
            return f"{as_text(found[0])}:{int(found[1])}"
    return None


@dataclass(frozen=True)
class RedisNodesAdmin:
    """The Redis nodes and Sentinels of one topology, by address."""

    nodes: Mapping[str, str]  # node name -> host:port admin reaches it at
    sentinels: list[str] = field(default_factory=list)  # host:port admin reaches each Sentinel at
    master_name: str = "mymaster"
    announced: Mapping[str, str] | None = None  # node name -> host:port the Sentinels name it by (default: nodes)
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    def client(self, node: str) -> redis.Redis:
        """An admin connection to `node` (the caller closes it)."""
        if node not in self.nodes:
            raise NotControllable(f"no Redis node {node!r}; nodes: {', '.join(self.nodes) or 'none'}")
        host, port = split_address(self.nodes[node])
        return redis.Redis(host=host, port=port, username=self.username, password=self.password,
                           socket_timeout=ADMIN_TIMEOUT_S, socket_connect_timeout=ADMIN_TIMEOUT_S)

    def names(self) -> list[str]:
        return list(self.nodes)

    def primary_address(self) -> str | None:
        """`host:port` of the primary as the Sentinels name it (None: no Sentinel answers)."""
        return sentinel_master(self.sentinels, self.master_name, self.sentinel_password)

    def primary_name(self) -> str | None:
        """The node the Sentinels name as primary; without Sentinels, the first node (a lone primary)."""
        if not self.sentinels:
            return next(iter(self.nodes), None)
        address = self.primary_address()
        if address is None:
            return None
        by = self.announced if self.announced is not None else self.nodes
        wanted = split_address(address)
        return next((name for name, a in by.items() if split_address(a) == wanted), None)
