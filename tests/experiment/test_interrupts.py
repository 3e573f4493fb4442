"""SIGINT during each fault: the run exits 130 and leaves no toxic, no config change and no stopped node.

The run attaches (external topology) to a topology the test owns, so what the run
leaves behind can be inspected after the run's process is gone.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cachechaos.runtime.local import LocalTopology
from cachechaos.store.rundir import read_jsonl
from tests.conftest import make_spec

REPO = Path(__file__).resolve().parents[2]

FAULTS: dict[str, dict[str, Any]] = {
    "latency": {"type": "latency", "link": "postgres", "latency_ms": 100, "stream": "both"},
    "timeout": {"type": "timeout", "link": "redis-*", "timeout_ms": 0},
    "down": {"type": "down", "link": "sentinel-1"},
    "redis_config": {"type": "redis_config", "node": "all",
                     "settings": {"maxmemory": "3mb", "maxmemory-policy": "allkeys-random"}},
    "partition": {"type": "partition", "node": "primary", "backends_cut": 0.5},
}


@pytest.fixture(scope="module")
def attached(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalTopology, Path]]:
    spec = make_spec(products=300, backends={"instances": 2, "own_links": True, "config": {"strategy": "event"}},
                     redis={"down_after_ms": 60_000})  # no failover: the state to restore stays put
    with LocalTopology(spec, tmp_path_factory.mktemp("attached")) as topo:
        ep = topo.endpoints
        external = tmp_path_factory.mktemp("external") / "external.yaml"
        external.write_text(yaml.safe_dump({
            "kind": "external", "backends": list(ep.backends.values()),
            "redis": {"sentinels": ep.sentinels, "master_name": ep.master_name, "nodes": dict(ep.redis)},
            "catalog": {"products": 300}, "postgres": {"dsn": topo.postgres.dsn},
            "toxiproxy": {"url": ep.proxy_api},
            "chaos_targets": list(ep.redis),
        }))
        yield topo, external


def _state(topo: LocalTopology) -> dict[str, Any]:
    with topo.proxy_client() as client:
        proxies = {name: (p.enabled, len(p.toxics)) for name, p in client.proxies().items()}
    configs = {}
    for node in topo.redis_nodes:
        with node.client() as r:
            configs[node.name] = (r.config_get("maxmemory")["maxmemory"], r.config_get("maxmemory-policy")["maxmemory-policy"])
    return {"proxies": proxies, "configs": configs, "running": {n: node.running for n, node in topo.nodes.items()}}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_sigint_during_fault_heals_everything(attached: tuple[LocalTopology, Path], tmp_path: Path, fault: str) -> None:
    topo, external = attached
    before = _state(topo)
    assert all(before["running"].values())
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(yaml.safe_dump({
        "name": f"interrupt-{fault}", "purpose": "interrupted during a fault",
        "traffic": {"users": 10, "shape": {"kind": "arrival", "rate_per_s": 80},
                    "mix": {"browse": 80, "cart_write": 20, "checkout": 0, "write_price": 0, "cart_read": 0, "absent": 0}},
        "phases": [{"name": "baseline", "duration_s": 1}, {"name": "fault", "duration_s": 120, "faults": [FAULTS[fault]]}],
        "criteria": [{"check": "error_rate", "max": 1.0}],
    }))
    reports = tmp_path / "reports"
    proc = subprocess.Popen([sys.executable, "-m", "cachechaos", "run", str(experiment), "--topology", str(external),
                             "--allow-destructive", "--reports-dir", str(reports), "--no-live"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        journal: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = list(reports.glob("*/journal.jsonl")) if reports.exists() else []
            journal = read_jsonl(runs[0]) if runs else []
            if any(e["event"] == "inject" for e in journal):
                break
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.1)
        inject = next(e for e in journal if e["event"] == "inject")
        assert inject["ok"], inject
        assert _state(topo) != before, "the fault changed nothing"
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, out
    journal = read_jsonl(runs[0])
    heal = next(e for e in journal if e["event"] == "heal")
    assert heal["ok"] and heal["fault"] == inject["fault"]
    assert _state(topo) == before
    assert json.loads((runs[0].parent / "summary.json").read_text())["status"] == "aborted"
