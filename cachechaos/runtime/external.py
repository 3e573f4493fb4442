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
from cachechaos.runtime.redis_admin import RedisNodesAdmin
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
        r = spec.redis
        self.admin = RedisNodesAdmin(dict(r.nodes), list(r.sentinels), r.master_name, username=r.username,
                                     password=r.password, sentinel_password=r.sentinel_password)

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
        return self.admin.client(node)

    def redis_names(self) -> list[str]:
        return self.admin.names()

    def primary_name(self) -> str | None:
        return self.admin.primary_name()

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
