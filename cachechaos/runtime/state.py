"""The state file that lets `status` and `down` find a topology started by `up`.

`up` (foreground, or the detached supervisor) owns the topology: its servers
die with it. The state file records that process's pid and what it runs, so
`down` only has to signal one process and the rest follows.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from cachechaos.store.files import read_json, write_json

STATE_ENV = "CACHECHAOS_STATE_DIR"


def default_state_dir() -> Path:
    return Path(os.environ.get(STATE_ENV, ".cachechaos"))


def state_path(state_dir: Path) -> Path:
    return state_dir / "state.json"


def write_state(state_dir: Path, data: dict[str, Any]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    write_json(state_path(state_dir), data)


def read_state(state_dir: Path) -> dict[str, Any] | None:
    return read_json(state_path(state_dir)) or None


def clear_state(state_dir: Path, owner_pid: int | None = None) -> None:
    """Remove the state file (only if it still belongs to `owner_pid`, when given)."""
    state = read_state(state_dir)
    if state is None:
        return
    if owner_pid is not None and state.get("pid") != owner_pid:
        return
    state_path(state_dir).unlink(missing_ok=True)


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited; it only waits for its parent to reap it.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def stop_owner(state: dict[str, Any], timeout: float = 30.0) -> bool:
    """SIGTERM the owning process and wait; SIGKILL as a last resort (PDEATHSIG takes the rest)."""
    pid = state.get("pid")
    if not isinstance(pid, int) or not pid_alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    return True


def leftover_pids(state: dict[str, Any], timeout: float = 10.0) -> dict[str, int]:
    """Node processes of `state` still alive after `timeout` seconds."""
    nodes = {name: n.get("pid") for name, n in state.get("nodes", {}).items()}
    deadline = time.monotonic() + timeout
    while True:
        alive = {name: pid for name, pid in nodes.items() if pid_alive(pid)}
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.05)
