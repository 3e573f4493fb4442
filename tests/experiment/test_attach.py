"""Attach mode: an experiment against a backend someone else started, named in an external topology."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from cachechaos.history import Op, read_history
from cachechaos.runtime.local import LocalTopology

REPO = Path(__file__).resolve().parents[2]

EXPERIMENT = {
    "name": "attached", "purpose": "a run against a backend cachechaos did not start",
    "traffic": {"users": 10, "shape": {"kind": "arrival", "rate_per_s": 100}},
    "phases": [{"name": "baseline", "duration_s": 3},
               {"name": "fault", "duration_s": 3, "faults": [{"type": "latency", "link": "postgres", "latency_ms": 20}]}],
    "criteria": [{"check": "error_rate", "max": 0.01}],
}


def test_run_against_an_external_backend(topology_factory, hand_started_backend, tmp_path: Path) -> None:
    topo: LocalTopology = topology_factory(products=300)
    ep = topo.endpoints
    url = hand_started_backend(topo)
    external = tmp_path / "external.yaml"
    external.write_text(yaml.safe_dump({
        "kind": "external", "backends": [url],
        "redis": {"sentinels": ep.sentinels, "master_name": ep.master_name,
                  "nodes": dict(ep.redis)},
        "catalog": {"products": 300},
        "postgres": {"dsn": topo.postgres.dsn, "tables": {"products": {"table": "products", "key": "id", "version": "version"}}},
        "toxiproxy": {"url": ep.proxy_api},
    }))
    experiment = tmp_path / "attached.yaml"
    experiment.write_text(yaml.safe_dump(EXPERIMENT))

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cachechaos", "run", str(experiment), "--topology", str(external),
                               "--reports-dir", str(tmp_path / "reports"), "--no-live", *extra],
                              capture_output=True, text=True, timeout=120, cwd=REPO)

    result = run()
    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = next((tmp_path / "reports").iterdir())
    reads = [r for r in read_history(run_dir) if r.op == Op.READ and r.ok]
    assert len(reads) > 200
    metrics = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert json.loads(metrics[-1])["redis"]["redis-1"]["up"] is True
    assert httpx.get(f"{url}/health").status_code == 200 and topo.node("redis-1").running  # attach mode leaves others' processes alone
    with topo.proxy_client() as proxies:
        assert proxies.toxics("postgres") == []

    # A destructive fault against a node the topology does not mark as a chaos target is refused.
    EXPERIMENT["phases"][1]["faults"] = [{"type": "flushall"}]  # type: ignore[index]
    experiment.write_text(yaml.safe_dump(EXPERIMENT))
    with topo.redis_admin("redis-1") as r:
        r.set("precious", "1")
    refused = run("--allow-destructive")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "refused" in refused.stderr
    with topo.redis_admin("redis-1") as r:
        assert r.get("precious") == b"1"
