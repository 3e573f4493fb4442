"""No process of a topology outlives the toolkit: after down, SIGINT, SIGTERM and SIGKILL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cachechaos.runtime.state import leftover_pids, pid_alive, read_state

SMALL = "postgres:\n  products: 500\nbackends:\n  instances: 0\n"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cachechaos", *args]


def _wait_healthy(state_dir: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(state_dir)
        if state and state.get("status") == "healthy" and state.get("pid") == proc.pid:
            return state
        assert proc.poll() is None, f"up exited early with {proc.returncode}"
        time.sleep(0.1)
    raise AssertionError("the topology did not become healthy")


def _node_pids(state: dict) -> dict[str, int]:
    pids = {name: n["pid"] for name, n in state["nodes"].items()}
    assert set(pids) >= {"redis-1", "redis-2", "sentinel-1", "sentinel-2", "sentinel-3", "postgres", "toxiproxy"}
    assert all(pid_alive(pid) for pid in pids.values())
    return pids


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_foreground_up_leaves_nothing_after_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    topology = tmp_path / "small.yaml"
    topology.write_text(SMALL)
    state_dir = tmp_path / "state"
    proc = subprocess.Popen(
        _cli("up", "--topology", str(topology), "--state-dir", str(state_dir), "--run-dir", str(tmp_path / "run")),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        state = _wait_healthy(state_dir, proc)
        pids = _node_pids(state)
        proc.send_signal(sig)
        proc.wait(30)
        assert leftover_pids(state, timeout=10) == {}, "processes of the topology survived"
        if sig != signal.SIGKILL:
            assert proc.returncode == 0
            assert read_state(state_dir) is None
        assert not any(pid_alive(p) for p in pids.values())
    finally:
        proc.kill()


def test_detached_up_then_down(tmp_path: Path) -> None:
    topology = tmp_path / "small.yaml"
    topology.write_text(SMALL)
    state_dir = tmp_path / "state"
    result = subprocess.run(
        _cli("up", "--detach", "--json", "--topology", str(topology), "--state-dir", str(state_dir),
             "--run-dir", str(tmp_path / "run")),
        capture_output=True, text=True, timeout=90,
    )
    assert result.returncode == 0, result.stderr
    described = json.loads(result.stdout)
    pids = _node_pids(described)
    assert pid_alive(described["pid"])

    status = subprocess.run(_cli("status", "--json", "--state-dir", str(state_dir)), capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stdout + status.stderr
    assert json.loads(status.stdout)["healthy"] is True

    down = subprocess.run(_cli("down", "--state-dir", str(state_dir)), capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert not pid_alive(described["pid"])
    assert not any(pid_alive(p) for p in pids.values())
    after = subprocess.run(_cli("status", "--state-dir", str(state_dir)), capture_output=True, text=True, timeout=60)
    assert after.returncode == 3


def test_a_killed_toolkits_postgres_data_is_swept_by_the_next_start(tmp_path: Path) -> None:
    import os
    import tempfile

    from cachechaos.runtime.private_dirs import sweep_orphans

    orphan = Path(tempfile.mkdtemp(prefix="cachechaos-pg-"))
    dead = subprocess.Popen(["true"])
    dead.wait()
    (orphan / "owner.pid").write_text(str(dead.pid))
    mine = Path(tempfile.mkdtemp(prefix="cachechaos-pg-"))
    (mine / "owner.pid").write_text(str(os.getpid()))
    sweep_orphans("cachechaos-pg-")
    assert not orphan.exists() and mine.exists()
    mine.joinpath("owner.pid").unlink()
    mine.rmdir()
