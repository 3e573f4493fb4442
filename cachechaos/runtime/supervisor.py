"""Keeping a local topology up outside a run: `cachechaos up`, in the foreground or detached.

`supervise` brings the topology up, records it in the state directory (for `status`
and `down`), holds it until SIGINT/SIGTERM and tears it down. `start_detached` runs
`cachechaos up --supervise` in a new session (so the terminal's Ctrl-C does not reach
it) and returns the recorded state once the supervisor says healthy.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Protocol

from cachechaos.errors import Aborted, EnvironmentFailure, aborting_on_signals
from cachechaos.runtime.local import Progress
from cachechaos.runtime.state import clear_state, pid_alive, read_state, write_state
from cachechaos.store.rundir import NODES_DIR

HEALTHY = "healthy"


class Supervised(Protocol):
    """What `supervise` needs of a topology it holds up."""

    def up(self, timeout: float = ...) -> object: ...
    def down(self) -> None: ...
    def describe(self) -> dict[str, Any]: ...

SUPERVISOR_LOG = "supervisor.log"


def supervise(topo: Supervised, run_dir: Path, state_dir: Path, timeout: float, *, detached: bool,
              on_healthy: Callable[[dict[str, Any]], None], progress: Progress,
              waiting: Callable[[], AbstractContextManager[Any]] = nullcontext) -> None:
    """Up, recorded, held until a signal, down. Raises EnvironmentFailure when it does not come up.

    `topo` is built by the caller (cachechaos.runtimes.topology_for): a local or a docker topology."""
    with aborting_on_signals():
        try:
            try:
                with waiting():
                    topo.up(timeout=timeout)
            except (Aborted, EnvironmentFailure):
                raise
            except Exception as exc:
                raise EnvironmentFailure(f"the topology did not come up: {exc}\n(logs in {run_dir / NODES_DIR})") from exc
            desc = {**topo.describe(), "pid": os.getpid(), "mode": "detached" if detached else "foreground",
                    "status": HEALTHY, "started_at": time.time()}
            write_state(state_dir, desc)
            on_healthy(desc)
            while True:
                signal.pause()
        except Aborted as stop:
            progress(f"{signal.Signals(stop.signum).name} received, tearing down…")
        finally:
            topo.down()
            clear_state(state_dir, owner_pid=os.getpid())


def start_detached(topology: Path | None, run_dir: Path, state_dir: Path, timeout: float) -> dict[str, Any]:
    """Start a supervisor in its own session; its state once healthy. Raises EnvironmentFailure."""
    run_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "cachechaos", "up", "--supervise", "--run-dir", str(run_dir),
            "--state-dir", str(state_dir), "--timeout", str(timeout)]
    if topology is not None:
        argv += ["--topology", str(topology)]
    log_path = run_dir / SUPERVISOR_LOG
    with open(log_path, "ab") as log:
        # A new session: the supervisor must not get the terminal's Ctrl-C.
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    deadline = time.monotonic() + timeout + 10
    while time.monotonic() < deadline:
        state = read_state(state_dir)
        if state and state.get("pid") == child.pid and state.get("status") == HEALTHY:
            assert pid_alive(child.pid)
            return state
        if child.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
            raise EnvironmentFailure(f"the topology did not come up:\n{tail}")
        time.sleep(0.05)
    child.terminate()
    raise EnvironmentFailure(f"the topology was not healthy within {timeout:.0f}s (log: {log_path})")
