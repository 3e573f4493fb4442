"""Driving a game day as its operator does: the `cachechaos` CLI in a subprocess, in a directory of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def cli(cwd: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cachechaos", *args, "--state-dir", str(cwd / "state")], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"})


def wait_for(what: str, check: Callable[[], Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def start_detached(cwd: Path, rate_per_s: float, criteria: dict[str, Any] | None = None) -> dict[str, Any]:
    """A game day on a small local topology, started detached; its state file (URL, token, pid, run dir)."""
    (cwd / "topology.yaml").write_text(yaml.safe_dump({"kind": "local", "postgres": {"products": 2000}}))
    (cwd / "traffic.yaml").write_text(yaml.safe_dump(
        {"traffic": {"users": 40, "processes": 1, "shape": {"kind": "arrival", "rate_per_s": rate_per_s}}}))
    args = ["gameday", "start", "--detach", "--topology", "topology.yaml", "--traffic", "traffic.yaml"]
    if criteria is not None:
        (cwd / "criteria.yaml").write_text(yaml.safe_dump(criteria))
        args += ["--criteria", "criteria.yaml"]
    started = cli(cwd, *args)
    assert started.returncode == 0, started.stdout + started.stderr
    state: dict[str, Any] = json.loads((cwd / "state" / "gameday.json").read_text())
    assert f"token={state['token']}" in started.stdout
    return state


def processes_naming(text: str) -> list[str]:
    """Processes whose command line holds `text` (a run directory): none may outlive a game day."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{entry.name}: {cmdline}")
    return found
