"""Health probes of a topology's endpoints: one real protocol call per proxied address."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import psycopg
import redis

from cachechaos.names import POSTGRES, sentinel_node
from cachechaos.runtime.endpoints import Endpoints
from cachechaos.runtime.ports import split_address
from cachechaos.runtime.redis import as_text


@dataclass(frozen=True)
class Probe:
    target: str
    address: str
    ok: bool
    detail: str


def _redis_call(address: str, *command: str, timeout: float, password: str | None = None) -> object:
    host, port = split_address(address)
    with redis.Redis(host=host, port=port, password=password, socket_timeout=timeout, socket_connect_timeout=timeout) as r:
        return r.execute_command(*command)


def probe(endpoints: Endpoints, timeout: float = 2.0, redis_password: str | None = None,
          postgres_password: str | None = None) -> list[Probe]:
    """Probe every Redis node, Sentinel and PostgreSQL through its proxy, and every backend (with the
    passwords of a local topology that has them: the endpoints never hold one)."""
    out: list[Probe] = []
    for name, address in endpoints.redis.items():
        host, port = split_address(address)
        try:
            with redis.Redis(host=host, port=port, password=redis_password, socket_timeout=timeout,
                             socket_connect_timeout=timeout) as r:
                info = r.info("replication")
            link = info.get("master_link_status")
            detail = info["role"] if link is None else f"{info['role']}, link {link}"
            out.append(Probe(name, address, link in (None, "up"), detail))
        except (redis.RedisError, OSError) as exc:
            out.append(Probe(name, address, False, str(exc)))
    for i, address in enumerate(endpoints.sentinels, start=1):
        try:
            addr = _redis_call(address, "SENTINEL", "get-master-addr-by-name", endpoints.master_name, timeout=timeout,
                              password=redis_password)
            primary = f"{as_text(addr[0])}:{as_text(addr[1])}" if addr else None  # type: ignore[index]
            out.append(Probe(sentinel_node(i), address, primary is not None, f"primary {primary}"))
        except (redis.RedisError, OSError) as exc:
            out.append(Probe(sentinel_node(i), address, False, str(exc)))
    # `status` probes topologies `up` started, which always have PostgreSQL; an external one may not.
    if endpoints.postgres_dsn is not None:
        out.append(_postgres_probe(endpoints, timeout, postgres_password))
    for name, url in endpoints.backends.items():
        try:
            response = httpx.get(f"{url}/health", timeout=timeout)
            out.append(Probe(name, url, response.status_code == 200, f"HTTP {response.status_code}"))
        except httpx.HTTPError as exc:
            out.append(Probe(name, url, False, str(exc)))
    return out


def _postgres_probe(endpoints: Endpoints, timeout: float, password: str | None = None) -> Probe:
    address = endpoints.links[POSTGRES].listen if POSTGRES in endpoints.links else "?"
    assert endpoints.postgres_dsn is not None
    try:
        with psycopg.connect(endpoints.postgres_dsn, password=password, connect_timeout=max(1, int(timeout))) as conn:
            row = conn.execute("SELECT count(*) FROM products").fetchone()
        return Probe("postgres", address, True, f"{int(row[0]) if row else 0} products")
    except psycopg.Error as exc:
        return Probe("postgres", address, False, str(exc).strip())


def unhealthy(probes: list[Probe]) -> str | None:
    """The message naming every failed probe, or None when all answered."""
    failed = [f"{p.target} ({p.address}): {p.detail}" for p in probes if not p.ok]
    return "topology is not healthy: " + "; ".join(failed) if failed else None
