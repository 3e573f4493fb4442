"""A run is only judged on the load it asked for: a dead load process is an error, a short load is flagged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def _experiment(tmp_path: Path, name: str, traffic: dict[str, Any], phases: list[dict[str, Any]],
                criteria: list[dict[str, Any]]) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "purpose": "load fidelity",
        "target": {"overrides": {"postgres": {"products": 300}, "backends": {"instances": 1}}},
        "backend": {"strategy": "ttl"},
        "traffic": traffic, "phases": phases, "criteria": criteria,
    }))
    return path


def _run(experiment: Path, reports: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cachechaos", "run", str(experiment), "--reports-dir", str(reports),
                             "--no-live"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_load_process_killed_mid_run_makes_the_run_an_error_naming_it(tmp_path: Path) -> None:
    experiment = _experiment(
        tmp_path, "killed-load",
        {"processes": 2, "shape": {"kind": "arrival", "rate_per_s": 100},
         "mix": {"browse": 1, "write_price": 0, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0}},
        [{"name": "baseline", "duration_s": 30}], [{"check": "error_rate", "max": 0.5}])
    reports = tmp_path / "reports"
    proc = _run(experiment, reports)
    try:
        deadline = time.monotonic() + 60
        pid = None
        while pid is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[0]
            for stats in reports.glob("*/load/load-1.json"):
                doc = json.loads(stats.read_text() or "{}")
                pid = doc.get("pid") if doc.get("requests") else None
            time.sleep(0.1)
        assert pid is not None, "load-1 never reported"
        os.kill(pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 3, out
    summary = json.loads(next(reports.glob("*/summary.json")).read_text())
    assert summary["status"] == "error" and summary["verdicts"] == []
    assert "load-1" in summary["error"] and "SIGKILL" in summary["error"], summary["error"]
    assert "load-1" in out


def test_arrivals_dropped_at_the_cap_are_reported_and_caveat_every_verdict(tmp_path: Path) -> None:
    # Every write waits ~100 ms on PostgreSQL; 300 writes/s need ~30 in flight and the cap allows 4.
    experiment = _experiment(
        tmp_path, "capped-load",
        {"processes": 1, "shape": {"kind": "arrival", "rate_per_s": 300, "max_in_flight": 4},
         "mix": {"browse": 0, "write_price": 1, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0}},
        [{"name": "fault", "duration_s": 4, "faults": [{"type": "latency", "link": "postgres", "latency_ms": 100}]}],
        [{"check": "error_rate", "max": 1.0}])
    reports = tmp_path / "reports"
    proc = _run(experiment, reports)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out  # the criterion itself holds ...
    summary = json.loads(next(reports.glob("*/summary.json")).read_text())
    load = summary["load"]
    assert load["model"] == "open" and not load["ok"]
    assert load["dropped"] > 0.5 * load["due"], load  # ... but most arrivals never went out
    assert load["sent"] + load["dropped"] + load["missing"] == load["due"]
    assert any("dropped" in p for p in load["problems"])
    assert all("load fell short" in v["caveat"] for v in summary["verdicts"])
    markdown = next(reports.glob("*/summary.md")).read_text()
    assert "The load fell short" in markdown
    assert 'id="load-fidelity"' in next(reports.glob("*/index.html")).read_text()
