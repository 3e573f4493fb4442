"""cart_store: postgres (cached in L2) or redis (carts live only on the Redis primary).

With redis, a write the primary does not confirm must never be acknowledged: that is what lets
the split-brain experiment count acknowledged-then-lost cart writes.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from cachechaos.backend.config import BackendConfig
from tests.backend.conftest import Instance, Launcher, pg_exec, wait_for


def put_cart(inst: Instance, user: int, items: list[Any]) -> Any:
    return inst.http.put(f"/carts/{user}", json={"items": items})


def test_cart_store_config() -> None:
    assert BackendConfig.model_validate({"sentinels": ["127.0.0.1:26379"]}).cart_store == "postgres"
    # Carts in Redis need Redis, whatever the product strategy.
    with pytest.raises(ValidationError):
        BackendConfig.model_validate({"strategy": "none", "cart_store": "redis"})
    cfg = BackendConfig.model_validate({"strategy": "none", "cart_store": "redis", "sentinels": ["127.0.0.1:26379"]})
    assert cfg.uses_redis and not cfg.caches
    with pytest.raises(ValidationError):
        BackendConfig.model_validate({"strategy": "none", "cart_store": "mongo"})


def test_postgres_cart_store_is_unchanged(launch: Launcher, shared: Any, redis_primary: Any) -> None:
    (b,) = launch(strategy="delete")
    assert b.health()["cart_store"] == "postgres"
    assert put_cart(b, 31, [{"product_id": 1, "qty": 1}]).json()["version"] == 1
    assert pg_exec(shared, "SELECT version FROM carts WHERE user_id = 31") == [(1,)]
    assert b.http.get("/carts/31").headers["X-Cache"] == "miss"
    assert b.http.get("/carts/31").headers["X-Cache"] == "l2"
    assert redis_primary.type("cart:31") == b"string" and redis_primary.pttl("cart:31") > 0


def test_redis_carts_versions_and_unconfirmed_writes(quiet: Any, quiet_launch: Launcher) -> None:
    topo = quiet
    primary = topo.current_primary()
    assert primary is not None
    (replica,) = [n for n in topo.redis_nodes if n is not primary]
    (b,) = quiet_launch(strategy="none", cart_store="redis")
    assert b.health()["cart_store"] == "redis"

    empty = b.http.get("/carts/7")
    assert empty.status_code == 200 and empty.json() == {"user_id": 7, "items": [], "version": 0}
    versions = []
    for i in range(1, 4):
        items = [{"product_id": i, "qty": i}]
        r = put_cart(b, 7, items)
        assert r.status_code == 200 and r.json() == {"user_id": 7, "items": items, "version": i}
        versions.append(r.json()["version"])
        got = b.http.get("/carts/7")
        assert got.json() == r.json() and got.headers["X-Cache"] == "l2"
    assert versions == [1, 2, 3]
    with primary.client() as r:
        assert r.hget("cart:7", "version") == b"3" and r.ttl("cart:7") == -1  # no TTL
    assert pg_exec(topo, "SELECT count(*) FROM carts WHERE user_id = 7") == [(0,)]
    assert b.metric("db_queries_total", kind="cart_write") + b.metric("db_queries_total", kind="cart_read") == 0

    # The primary refuses writes without a good replica: the PUT is answered 503, never 200.
    assert wait_for(replica.replication_up, timeout=10, interval=0.1)
    with primary.client() as r:
        old = {k: r.config_get(k)[k] for k in ("min-replicas-to-write", "min-replicas-max-lag")}
        r.config_set("min-replicas-max-lag", 1)
        r.config_set("min-replicas-to-write", 1)
    replica.pause()
    try:

        def lagging() -> bool:
            info = primary.info("replication")
            return any(isinstance(v, dict) and int(v.get("lag", 0)) > 2 for v in info.values())

        assert wait_for(lagging, timeout=10, interval=0.2), primary.info("replication")
        for i in range(3):
            r = put_cart(b, 7, [{"product_id": 99, "qty": i}])
            assert r.status_code == 503, r.text
            assert "NOREPLICAS" in r.json()["error"]
        assert b.metric("backend_errors_total", kind="cart_write_rejected") == 3
        # Nothing of the refused writes is stored, and reads still work.
        assert b.http.get("/carts/7").json()["version"] == 3
    finally:
        replica.resume()
        with primary.client() as r:
            for k, v in old.items():
                r.config_set(k, v)
    assert put_cart(b, 7, []).json()["version"] == 4  # versions still grow by one

    # Redis gone altogether: reads and writes answer 503, PostgreSQL does not stand in.
    with topo.proxy_client() as px:
        px.disable(primary.name)
        try:
            assert put_cart(b, 7, [{"product_id": 5, "qty": 1}]).status_code == 503
            assert b.http.get("/carts/7").status_code == 503
        finally:
            px.enable(primary.name)
    assert wait_for(lambda: b.http.get("/carts/7").status_code == 200, timeout=5, interval=0.1)
    assert b.http.get("/carts/7").json()["version"] == 4
