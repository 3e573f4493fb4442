"""Sample backend instances run by the local runtime, each reaching Redis and PostgreSQL through the proxies."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

from cachechaos.names import POSTGRES, link_for, pubsub_link, sentinel_node
from cachechaos.runtime.endpoints import Endpoints
from cachechaos.runtime.node import Node

# Connection settings are the runtime's to fill in; these stand in while validating the rest.
BACKEND_PLACEHOLDERS = {"sentinels": ["127.0.0.1:1"], "redis_url": "redis://127.0.0.1:1", "postgres_dsn": "postgresql://x@127.0.0.1:1/x"}


def check_backend_overrides(overrides: dict[str, Any]) -> None:
    """Validate a partial backend configuration (strategy, protections) against the backend's schema."""
    from cachechaos.backend.config import BackendConfig

    BackendConfig.model_validate({**BACKEND_PLACEHOLDERS, **overrides})


def backend_config(instance: str, endpoints: Endpoints, overrides: dict[str, Any]) -> dict[str, Any]:
    """The instance's BackendConfig: the topology's settings plus the proxied connection addresses.

    Redis nodes are reached through the instance's own links when the topology has them
    (`<node>.<instance>`), and the invalidation subscriber through `pubsub.<node>`, so faults
    can act on one instance's path, or on the pub/sub channel alone.
    """
    links = endpoints.links
    primary = next(iter(endpoints.redis.values()))
    own = {address: links[link_for(node, instance)].listen for node, address in endpoints.redis.items()
           if link_for(node, instance) in links}
    pubsub = {address: links[pubsub_link(node)].listen for node, address in endpoints.redis.items() if pubsub_link(node) in links}
    sentinels = [links[link_for(sentinel_node(i), instance)].listen if link_for(sentinel_node(i), instance) in links else address
                 for i, address in enumerate(endpoints.sentinels, start=1)]
    return {
        "redis_url": f"redis://{own.get(primary, primary)}/0",  # used only with sentinel_discovery: false
        **overrides,
        "instance": instance,
        "sentinels": sentinels,
        "master_name": endpoints.master_name,
        "postgres_dsn": _own_postgres_dsn(endpoints, instance),
        "redis_address_map": own,
        "pubsub_address_map": pubsub,
    }


def _own_postgres_dsn(endpoints: Endpoints, instance: str) -> str:
    """The DSN through the instance's own PostgreSQL link when the topology has one."""
    dsn = endpoints.postgres_dsn
    if dsn is None:  # only an attached target may lack PostgreSQL; the backends run on a local one
        raise ValueError("sample backends need the topology's PostgreSQL DSN")
    links = endpoints.links
    own, shared = links.get(link_for(POSTGRES, instance)), links.get(POSTGRES)
    if own is None or shared is None:
        return dsn
    return dsn.replace(f"@{shared.listen}/", f"@{own.listen}/")


def secrets_env(redis_password: str | None, postgres_password: str | None) -> dict[str, str] | None:
    """The environment a backend gets the topology's passwords in (None: none to give): its config file is
    in the run directory, which never holds a password. libpq reads PGPASSWORD by itself."""
    from cachechaos.backend.config import REDIS_PASSWORD_ENV

    extra = {k: v for k, v in ((REDIS_PASSWORD_ENV, redis_password), ("PGPASSWORD", postgres_password)) if v}
    return {**os.environ, **extra} if extra else None


class BackendNode(Node):
    kind = "backend"

    def __init__(self, name: str, host: str, port: int, node_dir: Path, config: dict[str, Any],
                 env: dict[str, str] | None = None) -> None:
        super().__init__(name, host, port, node_dir)
        self.env = env
        self.config_path = self.dir / "backend.json"
        self.config_path.write_text(json.dumps(config, indent=2))

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "cachechaos.backend", "serve", "--config", str(self.config_path),
                "--host", self.host, "--port", str(self.port)]

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200
