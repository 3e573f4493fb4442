"""`cachechaos probe`: the contract check of an external target, against the test shop and the sample backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.ports import free_port
from tests.shop.conftest import probe_json, shop_topology

REPO = Path(__file__).resolve().parents[2]


def _probe(topology: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cachechaos", "probe", str(topology), *extra],
                          capture_output=True, text=True, timeout=60, cwd=REPO)


def _findings(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in doc["findings"]}


def _possible(doc: dict[str, Any], kind: str) -> dict[str, bool | None]:
    return {c["name"]: c["possible"] for c in doc["capabilities"] if c["kind"] == kind}


def test_probe_of_the_shop(shop_factory: Any, tmp_path: Path) -> None:
    nocache = shop_factory("nocache")
    result = _probe(shop_topology(tmp_path / "nocache.yaml", nocache.url), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc = probe_json(result.stdout)
    f = _findings(doc)
    assert doc["conformant"] and doc["missing"] == []
    assert f["versions grow by one"]["status"] == "ok"
    assert f["X-Cache header"]["status"] == "missing"
    assert f["GET /metrics"]["status"] == "missing" and "HTTP 404" in f["GET /metrics"]["detail"]
    assert f["GET|PUT /carts/{user}"]["status"] == "missing"
    assert f["Cache-Control: no-cache"]["status"] == "ok"
    checks, faults = _possible(doc, "check"), _possible(doc, "fault")
    assert checks["stale_read_rate"] and checks["lost_writes"] and not checks["db_amplification"] and not checks["hit_rate"]
    assert not faults["latency"] and not faults["flushall"] and not faults["kill"]
    assert nocache.stats()["writes"] == 2  # the two version probes, nothing else written

    # The ttl shop caches reads and ignores no-cache: the probe sees its own write missed.
    ttl = shop_factory("ttl", "--ttl", "3")
    doc = probe_json(_probe(shop_topology(tmp_path / "ttl.yaml", ttl.url, cache={"max_ttl_s": 3}), "--json").stdout)
    f = _findings(doc)
    assert doc["conformant"]
    assert f["Cache-Control: no-cache"]["status"] == "warn" and "wait 4 s" in f["Cache-Control: no-cache"]["detail"]
    assert f["X-Cache header"]["status"] == "ok" and _possible(doc, "check")["hit_rate"]

    # --no-write leaves the shop untouched and cannot judge versions.
    doc = probe_json(_probe(shop_topology(tmp_path / "ttl.yaml", ttl.url), "--json", "--no-write").stdout)
    assert ttl.stats()["writes"] == 2
    assert not _possible(doc, "check")["stale_read_rate"]


def test_probe_says_what_is_missing(shop_factory: Any, tmp_path: Path) -> None:
    skipping = shop_factory("skipping")
    result = _probe(shop_topology(tmp_path / "skipping.yaml", skipping.url))
    assert result.returncode == 1
    assert "not conformant" in result.stderr and "versions grow by one" in result.stderr
    assert "Traceback" not in result.stderr

    nothing = f"http://127.0.0.1:{free_port()}"
    result = _probe(shop_topology(tmp_path / "nothing.yaml", nothing, redis={"nodes": {"redis-1": f"127.0.0.1:{free_port()}"}}),
                    "--timeout", "0.5")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "GET /health" in result.stderr and "redis redis-1" in result.stderr
    assert "Traceback" not in result.stderr


def test_probe_rejects_bad_topology_files(tmp_path: Path) -> None:
    local = tmp_path / "local.yaml"
    local.write_text(yaml.safe_dump({"kind": "local"}))
    result = _probe(local)
    assert result.returncode == 2 and "kind: external" in result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({"kind": "external", "backends": ["http://127.0.0.1:1"], "catalog": {"products": 0}}))
    result = _probe(broken)
    assert result.returncode == 2 and "catalog.products" in result.stderr


def test_probe_of_the_sample_backend(topology_factory: Any, hand_started_backend: Any, tmp_path: Path) -> None:
    topo: LocalTopology = topology_factory(products=300)
    ep = topo.endpoints
    # The ttl strategy never invalidates: only a real bypass lets a no-cache read see the write.
    url = hand_started_backend(topo, strategy="ttl")
    topology = tmp_path / "sample.yaml"
    topology.write_text(yaml.safe_dump({
        "kind": "external", "name": "sample-backend", "backends": [url], "catalog": {"products": 300},
        "redis": {"sentinels": ep.sentinels, "master_name": ep.master_name, "nodes": dict(ep.redis)},
        "postgres": {"dsn": topo.postgres.dsn, "tables": {"products": {"table": "products", "key": "id", "version": "version"}}},
        "toxiproxy": {"url": ep.proxy_api},
        "chaos_targets": ["redis-1"],
    }))
    httpx.get(f"{url}/products/1")  # cached now, for the whole TTL
    result = _probe(topology, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc = probe_json(result.stdout)
    f = _findings(doc)
    assert all(x["status"] == "ok" for x in doc["findings"]), doc["findings"]
    assert f["Cache-Control: no-cache"]["status"] == "ok"
    assert "sentinel-1" in f and "redis-1" in f and f["dsn"]["detail"].startswith("reachable; final reads in SQL")
    checks, faults = _possible(doc, "check"), _possible(doc, "fault")
    assert all(checks[name] for name in ("stale_read_rate", "hit_rate", "db_amplification", "lost_writes", "failover_time"))
    assert faults["latency"] and faults["flushall"] and not faults["kill"]
    assert faults["sentinel_failover"] == (topo.primary_name() == "redis-1")
    # The control: without the header this backend still serves the version cached before the probe's writes.
    cached = httpx.get(f"{url}/products/1").json()["version"]
    fresh = httpx.get(f"{url}/products/1", headers={"Cache-Control": "no-cache"}).json()["version"]
    assert cached < fresh
