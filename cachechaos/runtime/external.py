"""Attach mode: a system someone else runs, named by its endpoints.

The backend only has to honour the HTTP contract. Destructive faults act only
on nodes listed in `chaos_targets`, and only with --allow-destructive.
"""

from __future__ import annotations

from typing import Any

import redis

from cachechaos.names import backend_urls
from cachechaos.proxy.client import ToxiproxyClient
from cachechaos.runtime.endpoints import Catalog, Endpoints, Link
from cachechaos.runtime.external_spec import ExternalTopologySpec
from cachechaos.runtime.ports import split_address
from cachechaos.runtime.redis import as_text
from cachechaos.runtime.target import NotControllable


class ExternalTarget:
    """The Target protocol over endpoints the toolkit does not run: ProxyControl, RedisAdmin and
    PostgresAdmin as far as the topology names them; never Killable, Pausable or Restartable."""

    def __init__(self, spec: ExternalTopologySpec, allow_destructive: bool = False) -> None:
        self.spec = spec
        self.allow_destructive = allow_destructive
        links: dict[str, Link] = {}
        if spec.toxiproxy is not None:
            with ToxiproxyClient(spec.toxiproxy.url) as client:
                for name, proxy in client.proxies().items():
                    links[name] = Link(name, proxy.listen, proxy.upstream)
        self._endpoints = Endpoints(
            master_name=spec.redis.master_name,
            sentinels=list(spec.redis.sentinels),
            redis=dict(spec.redis.nodes),
            postgres_dsn=spec.postgres.dsn if spec.postgres else None,
            proxy_api=spec.toxiproxy.url if spec.toxiproxy else "",
            links=links,
            backends=backend_urls(spec.backends),
        )

    @property
    def endpoints(self) -> Endpoints:
        return self._endpoints

    def proxy_client(self) -> ToxiproxyClient:
        if self.spec.toxiproxy is None:
            raise NotControllable("the topology names no Toxiproxy (toxiproxy.url): link faults are impossible")
        return ToxiproxyClient(self.spec.toxiproxy.url)

    def redis_admin(self, node: str) -> redis.Redis:
        if node not in self.spec.redis.nodes:
            raise NotControllable(f"no Redis node {node!r} in the topology (redis.nodes)")
        host, port = split_address(self.spec.redis.nodes[node])
        auth = self.spec.redis
        return redis.Redis(host=host, port=port, username=auth.username, password=auth.password, socket_timeout=1,
                           socket_connect_timeout=1)

    def redis_names(self) -> list[str]:
        return list(self.spec.redis.nodes)

    def primary_name(self) -> str | None:
        if not self.spec.redis.sentinels:
            return next(iter(self.spec.redis.nodes), None)
        addr = sentinel_master(self.spec.redis.sentinels, self.spec.redis.master_name, self.spec.redis.sentinel_password)
        return next((n for n, a in self.spec.redis.nodes.items() if a == addr), None)

    def sentinel_password(self) -> str | None:
        return self.spec.redis.sentinel_password

    def postgres_admin_dsn(self) -> str | None:
        return self.spec.postgres.dsn if self.spec.postgres else None

    def destructive_allowed(self, node: str) -> bool:
        return self.allow_destructive and node in self.spec.chaos_targets

    def catalog(self) -> Catalog:
        c = self.spec.catalog
        return Catalog(products=c.products, categories=c.categories, users=c.users)

    def describe(self) -> dict[str, Any]:
        """Endpoints only: the nodes and their binaries are someone else's."""
        return {"endpoints": self.endpoints.to_dict(), "binaries": None}

    def close(self) -> None:
        """Nothing to tear down: the toolkit started nothing."""


def sentinel_master(sentinels: list[str], master_name: str, password: str | None = None) -> str | None:
    """`host:port` of the primary as the first Sentinel that answers names it (None: none does)."""
    for address in sentinels:
        host, port = split_address(address)
        try:
            with redis.Redis(host=host, port=port, password=password, socket_timeout=1) as s:
                found = s.execute_command("SENTINEL", "get-master-addr-by-name", master_name)
        except redis.RedisError:
            continue
        if found:
            return f"{as_text(found[0])}:{int(found[1])}"
    return None
