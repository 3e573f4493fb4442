"""The HTTP contract of docs/backend-contract.md against the real topology."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.backend.conftest import Launcher, pg_exec

FIELDS = {"id", "price", "version", "stock", "category_id", "name"}


def test_product_read_write_contract(launch: Launcher, shared: Any) -> None:
    (b,) = launch(strategy="delete")
    r = b.get(5)
    assert r.status_code == 200 and r.headers["X-Cache"] == "miss"
    body = r.json()
    assert set(body) == FIELDS and body["id"] == 5 and body["version"] == 1
    assert body["category_id"] == 5 and body["stock"] == 100
    r2 = b.get(5)
    assert r2.headers["X-Cache"] == "l1" and r2.json() == body

    w = b.put_price(5, 12.5)
    assert w == {"id": 5, "price": 12.5, "version": 2}
    after = b.get(5)
    assert after.json()["version"] == 2 and after.json()["price"] == 12.5
    assert pg_exec(shared, "SELECT version, price FROM products WHERE id = 5") == [(2, 12.5)]

    missing = b.get(10_000_000)
    assert missing.status_code == 404 and missing.headers["X-Cache"] == "miss"
    assert b.http.put("/products/10000000", json={"price": 1}).status_code == 404
    assert b.http.put("/products/5", json={"price": "x"}).status_code == 400
    assert b.http.put("/products/5", content=b"{").status_code == 400


def test_discount_orders_carts_health_metrics(launch: Launcher, shared: Any) -> None:
    (b,) = launch(strategy="delete")
    r = b.http.post("/categories/7/discount", json={"percent": 50})
    assert r.status_code == 200
    updated = r.json()["updated"]
    in_cat = pg_exec(shared, "SELECT id FROM products WHERE category_id = 7 ORDER BY id")
    assert sorted(u["id"] for u in updated) == [row[0] for row in in_cat]
    assert all(u["version"] == 2 for u in updated)
    assert b.http.post("/categories/999999/discount", json={"percent": 5}).status_code == 404

    pg_exec(shared, "UPDATE products SET stock = 2 WHERE id = 9")
    first = b.http.post("/orders", json={"product_id": 9, "qty": 2, "user_id": 3})
    assert first.status_code == 201 and "order_id" in first.json()
    assert b.http.post("/orders", json={"product_id": 9, "qty": 1}).status_code == 409
    assert b.http.post("/orders", json={"product_id": 10_000_000, "qty": 1}).status_code == 404
    assert b.http.post("/orders", json={"product_id": 9, "qty": 0}).status_code == 400
    assert b.get(9).json()["stock"] == 0  # the order invalidated the cached row

    empty = b.http.get("/carts/42")
    assert empty.status_code == 200 and empty.json() == {"user_id": 42, "items": [], "version": 0}
    assert empty.headers["X-Cache"] in ("miss", "l2")
    items = [{"product_id": 1, "qty": 2}]
    put = b.http.put("/carts/42", json={"items": items})
    assert put.json() == {"user_id": 42, "items": items, "version": 1}
    assert b.http.put("/carts/42", json={"items": []}).json()["version"] == 2
    got = b.http.get("/carts/42")
    assert got.json()["version"] == 2 and got.json()["items"] == []
    assert b.http.put("/carts/42", json={"items": "nope"}).status_code == 400

    health = b.health()
    assert health["status"] == "ok" and health["strategy"] == "delete"
    assert health["redis_primary"] in shared.endpoints.redis.values()

    text = b.http.get("/metrics").text
    for name in (
        "cache_hits_total",
        "cache_requests_total",
        "db_queries_total",
        "cache_invalidations_sent_total",
        "cache_invalidations_applied_total",
        "cache_invalidation_latency_seconds",
        "http_request_duration_seconds_bucket",
        "cache_hot_keys_detected",
        "singleflight_joins_total",
        "lease_waits_total",
    ):
        assert name in text, name
    assert 'route="/products/{id}"' in text


def test_cli_entry_point_rejects_bad_config(tmp_path: Any) -> None:
    import subprocess
    import sys

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"strategy": "delete", "l1": {"ttl": 1}}))
    out = subprocess.run(
        [sys.executable, "-m", "cachechaos.backend", "serve", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2 and "invalid backend config" in out.stderr


def test_graceful_sigterm(launch: Launcher) -> None:
    (b,) = launch(strategy="ttl")
    assert b.get(1).status_code == 200
    b.stop()
    # uvicorn re-raises SIGTERM after its graceful shutdown; -9 would mean we had to kill it.
    assert b.proc.returncode in (0, -15)
    try:
        httpx.get(b.url + "/health", timeout=0.5)
        raise AssertionError("still serving after SIGTERM")
    except httpx.HTTPError:
        pass
