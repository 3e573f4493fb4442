"""End-to-end runs of `cachechaos run`: real topology, Locust load, faults, checks, exit codes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from cachechaos.checks import CHECKS
from cachechaos.checks.rundata import RunData
from cachechaos.store.rundir import read_jsonl

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cachechaos", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def only_run_dir(reports: Path) -> Path:
    dirs = [d for d in reports.iterdir() if d.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def summary_of(reports: Path) -> dict[str, Any]:
    return json.loads((only_run_dir(reports) / "summary.json").read_text())


def write_experiment(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize(("variant", "code"), [("delete", 1), ("lease", 0)])
def test_cache_aside_race_delete_fails_lease_passes(tmp_path: Path, variant: str, code: int) -> None:
    result = run_cli("run", "experiments/cache-aside-race.yaml", "--variant", variant, "--reports-dir", str(tmp_path), "--no-live")
    summary = summary_of(tmp_path)
    assert result.returncode == code, result.stdout + result.stderr
    stale = summary["verdicts"][0]
    assert stale["check"] == "stale_read_rate" and stale["name"] == summary["detects"]
    if variant == "delete":
        assert stale["measured"] > stale["max"] and summary["status"] == "failed"
        assert summary["stale_by_layer"][stale["name"]]["l2"]["stale"] > 0  # the race is in Redis: L1 is off
        assert summary["stale_by_layer"][stale["name"]]["l1"]["reads"] == 0
    else:
        assert stale["measured"] <= stale["max"] and summary["status"] == "passed"
    run_dir = only_run_dir(tmp_path)
    for name in ("junit.xml", "summary.md", "index.html", "run.json", "journal.jsonl", "metrics.jsonl"):
        assert (run_dir / name).exists(), name
    events = [e["event"] for e in read_jsonl(run_dir / "journal.jsonl")]
    assert events.count("inject") == events.count("heal") == 1


def test_flushall_recovery_time_is_measured_in_seconds(tmp_path: Path) -> None:
    result = run_cli("run", "experiments/flushall-recovery.yaml", "--reports-dir", str(tmp_path), "--no-live")
    summary = summary_of(tmp_path)
    recovery = next(v for v in summary["verdicts"] if v["check"] == "recovery_time")
    assert recovery["unit"] == "s"
    assert recovery["measured"] is not None and 0 <= recovery["measured"] <= 22, recovery
    assert result.returncode in (0, 1)
    flush = next(e for e in read_jsonl(only_run_dir(tmp_path) / "journal.jsonl") if e["event"] == "inject")
    assert flush["type"] == "flushall" and flush["details"]["keys_flushed"] > 0


def _accuracy_experiment(backend: dict[str, Any], seconds: float, rate: int, writes: float) -> dict[str, Any]:
    return {
        "name": "detector-accuracy", "purpose": "the stale-read detector measures what the backend does",
        "target": {"overrides": {"postgres": {"products": 500, "categories": 10}}},
        "backend": backend,
        "traffic": {"users": 40, "shape": {"kind": "arrival", "rate_per_s": rate},
                    "mix": {"browse": 100, "write_price": writes, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0}},
        "phases": [
            # Every product gets a second version first, so every later read has an older one to be served.
            {"name": "prepare", "duration_s": 2, "faults": [{"type": "bulk_discount", "categories": "all", "percent": 10}]},
            {"name": "measure", "duration_s": seconds},
        ],
        "criteria": [{"check": "stale_read_rate", "window_s": 0, "phase": "measure", "max": 1.0}],
    }


def _measured_stale(tmp_path: Path, spec: dict[str, Any]) -> tuple[float, int]:
    path = write_experiment(tmp_path / "accuracy.yaml", spec)
    result = run_cli("run", str(path), "--reports-dir", str(tmp_path / "reports"), "--no-live", timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr
    m = CHECKS["stale_read_rate"](RunData.load(only_run_dir(tmp_path / "reports")), window_s=0.0, phase="measure")
    return float(m.value or 0.0), int(m.details["reads"])


@pytest.mark.parametrize("seconds", [pytest.param(12, id="fast"), pytest.param(60, id="50k-reads", marks=pytest.mark.slow)])
def test_serve_stale_probability_is_measured_within_10_percent(tmp_path: Path, seconds: float) -> None:
    p = 0.2
    # TTLs shorter than the prepare phase: what was cached before the discount has expired when the
    # measurement starts, so every stale read there is one the bug served.
    spec = _accuracy_experiment({"strategy": "ttl", "l1": {"ttl_s": 0.8}, "l2": {"ttl_s": 0.8},
                                 "bugs": {"serve_stale": {"enabled": True, "probability": p}}},
                                seconds, rate=900, writes=0)
    rate, reads = _measured_stale(tmp_path, spec)
    print(f"serve-stale p={p}: measured {rate:.4f} over {reads} reads")
    assert reads >= (50_000 if seconds >= 60 else 5_000)
    assert abs(rate - p) <= 0.1 * p, f"measured {rate:.4f} over {reads} reads, injected {p}"


@pytest.mark.parametrize("seconds", [pytest.param(12, id="fast"), pytest.param(135, id="100k-reads", marks=pytest.mark.slow)])
def test_no_cache_means_exactly_zero_stale_reads(tmp_path: Path, seconds: float) -> None:
    spec = _accuracy_experiment({"strategy": "none"}, seconds, rate=900, writes=10)
    rate, reads = _measured_stale(tmp_path, spec)
    print(f"strategy none: stale fraction {rate} over {reads} reads")
    assert reads >= (100_000 if seconds >= 135 else 5_000)
    assert rate == 0.0


def test_sigint_mid_fault_heals_and_exits_130(tmp_path: Path) -> None:
    spec = {
        "name": "interrupted", "purpose": "an operator aborts during a fault",
        "target": {"overrides": {"postgres": {"products": 300}}},
        "traffic": {"users": 10, "shape": {"kind": "arrival", "rate_per_s": 100}},
        "phases": [{"name": "baseline", "duration_s": 2},
                   {"name": "fault", "duration_s": 60, "faults": [
                       {"type": "latency", "link": "postgres", "latency_ms": 50},
                       {"type": "redis_config", "settings": {"maxmemory-policy": "allkeys-random"}}]}],
        "criteria": [{"check": "error_rate", "max": 0.01}],
    }
    path = write_experiment(tmp_path / "interrupted.yaml", spec)
    reports = tmp_path / "reports"
    proc = subprocess.Popen([sys.executable, "-m", "cachechaos", "run", str(path), "--reports-dir", str(reports), "--no-live"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        run_dir = None
        while time.monotonic() < deadline:
            dirs = [d for d in reports.glob("*") if d.is_dir()] if reports.exists() else []
            if dirs and sum(e["event"] == "inject" for e in read_jsonl(dirs[0] / "journal.jsonl")) == 2:
                run_dir = dirs[0]
                break
            time.sleep(0.2)
        assert run_dir is not None, "the faults were never injected"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, out
    journal = read_jsonl(run_dir / "journal.jsonl")
    heals = [e for e in journal if e["event"] == "heal"]
    assert sorted(h["type"] for h in heals) == ["latency", "redis_config"] and all(h["ok"] for h in heals)
    assert journal[-1]["event"] == "run_end" and journal[-1]["status"] == "aborted"
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "aborted"
    nodes = json.loads((run_dir / "run.json").read_text())
    assert nodes["status"] == "aborted"
    leftovers = subprocess.run(["pgrep", "-f", str(run_dir)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", "processes of the run survived"
