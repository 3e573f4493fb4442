"""LoadRun: the experiment layer's handle on the load of one run.

One path, on Locust's distributed mode: a master process
(`python -m cachechaos.traffic.master`, traffic/master.py) and its workers
(`python -m cachechaos.traffic.worker --master HOST:PORT`). By default the
LoadRun starts the workers itself, one per load process on this machine; with
`load_workers=N` it waits for N workers started elsewhere (`cachechaos
load-worker`, docs/distributed-load.md). Every child is spawned through
ManagedProcess, so it dies with the toolkit.

Files in the run directory:

    load/master-config.json      what the master was told (MasterConfig)
    load/master.json             workers, chunks, records, lost workers (rewritten as they change)
    load/clocks.json             every worker's clock offset and its uncertainty (traffic/clocks.py)
    nodes/master/master.log      the master's output; nodes/load-<i>/load-<i>.log a local worker's
    nodes/load-<i>/traffic.json  worker load-<i>'s configuration (ProcessConfig)
    history/load-<i>.hist        what its users saw (shipped to the master in chunks)
    load/load-<i>.json           its live statistics, about once a second
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cachechaos
from cachechaos.adapters.model import AdapterSpec
from cachechaos.errors import EnvironmentFailure
from cachechaos.runtime.process import ManagedProcess
from cachechaos.store.files import read_json
from cachechaos.store.rundir import HISTORY_DIR, LOAD_DIR
from cachechaos.traffic.arrivals import open_shape
from cachechaos.traffic.config import CatalogModel, MasterConfig
from cachechaos.traffic.loadstats import LoadStats, aggregate
from cachechaos.traffic.rate_steps import RATES_FILE
from cachechaos.traffic.runner_client import RunnerClient
from cachechaos.traffic.spec import Catalog, RampShape, SpikeShape, SteadyShape, TrafficSpec

__all__ = ["Catalog", "LoadRun", "LoadStats", "RunnerClient", "TrafficSpec"]

# The safety net: a process quits on its own this long after the planned end.
RUN_TIME_MARGIN_S = 5.0
# How long local workers may take to boot (import Python and Locust) and the master to start them.
BOOT_TIMEOUT_S = 60.0
# How long a master waits for workers started elsewhere (--load-workers).
WORKER_WAIT_S = 60.0
DEFAULT_MASTER_BIND = "0.0.0.0:5557"
GO_FILE = "go"
MASTER_FILE = "master.json"
MASTER_CONFIG_FILE = "master-config.json"


class TooFewWorkers(EnvironmentFailure):
    """Fewer load workers joined the master than --load-workers asked for (exit 3)."""


def peak_users(spec: TrafficSpec) -> int:
    """Locust users at the busiest moment (an open model runs one per process)."""
    s = spec.shape
    if open_shape(spec) is not None:
        return spec.processes
    if isinstance(s, SteadyShape):
        return s.users if s.users is not None else spec.users
    if isinstance(s, RampShape):
        return max(s.start_users, s.end_users)
    if isinstance(s, SpikeShape):
        return max(s.base_users, s.spike_users)
    raise TypeError(f"unknown shape {s!r}")


class LoadRun:
    def __init__(self, spec: TrafficSpec, backends: list[str], run_dir: Path, duration_s: float,
                 catalog: Catalog, adapter: AdapterSpec | None = None, live_rate: bool = False,
                 load_workers: int | None = None, master_bind: str | None = None,
                 launch_workers: Callable[[int], object] | None = None) -> None:
        if not backends:
            raise ValueError("LoadRun needs at least one backend URL")
        if duration_s <= 0:
            raise ValueError(f"duration_s must be positive, not {duration_s}")
        if load_workers is not None and load_workers < 1:
            raise ValueError(f"load_workers must be at least 1, not {load_workers}")
        # A process without users would only cost a core's worth of start-up.
        processes = max(1, min(spec.processes, peak_users(spec)))
        self.spec = spec.model_copy(update={"processes": processes})
        self.backends = list(backends)
        self.run_dir = Path(run_dir)
        self.duration_s = duration_s
        self.catalog = catalog
        self.adapter = adapter
        # None: this machine's workers, started here; N: N workers started anywhere (cachechaos load-worker).
        self.load_workers = load_workers
        self.master_bind = master_bind or (DEFAULT_MASTER_BIND if load_workers is not None else None)
        # Starts the load_workers workers somewhere (the docker runtime's containers), given the master's port.
        self.launch_workers = launch_workers
        self._names = [f"load-{i}" for i in range(processes)]
        self._master: ManagedProcess | None = None
        self._procs: list[ManagedProcess] = []
        self._stopped = False
        # An open model whose rate its driver changes while it runs (traffic.rate_steps).
        self.rates_path = self.run_dir / LOAD_DIR / RATES_FILE if live_rate else None
        self.started_at: float | None = None  # the load's timeline starts here (unix time), once started

    @property
    def processes(self) -> list[str]:
        """Process names = history file stems (history/<name>.hist) and stats file stems (load/<name>.json)."""
        return list(self._names)

    def history_path(self, name: str) -> Path:
        return self.run_dir / HISTORY_DIR / f"{name}.hist"

    def stats_path(self, name: str) -> Path:
        return self.run_dir / LOAD_DIR / f"{name}.json"

    def config_path(self, name: str) -> Path:
        return self.run_dir / "nodes" / name / "traffic.json"

    @property
    def master_path(self) -> Path:
        return self.run_dir / LOAD_DIR / MASTER_FILE

    def master_status(self) -> dict[str, Any]:
        return read_json(self.master_path) if self.master_path.exists() else {}

    def start(self) -> None:
        """Start the master and the workers, wait until all have joined and booted, return when the load starts.

        Call from the main thread. The load's timeline (duration, shapes, arrivals) starts on return.
        Raises TooFewWorkers when fewer than `load_workers` workers joined in time.
        """
        if self._master is not None:
            return
        load_dir = self.run_dir / LOAD_DIR
        load_dir.mkdir(parents=True, exist_ok=True)
        go = load_dir / GO_FILE
        go.unlink(missing_ok=True)
        self.master_path.unlink(missing_ok=True)
        env = dict(os.environ)
        # The children import this very checkout, installed or not.
        root = str(Path(cachechaos.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        bind = self.master_bind or f"127.0.0.1:{free_port()}"
        wanted = self.load_workers if self.load_workers is not None else len(self._names)
        cfg = MasterConfig(
            run_dir=self.run_dir, bind=bind, workers=wanted,
            wait_s=WORKER_WAIT_S if self.load_workers is not None else BOOT_TIMEOUT_S,
            spec=self.spec if self.load_workers is None else self.spec.model_copy(update={"processes": wanted}),
            catalog=CatalogModel(products=self.catalog.products, categories=self.catalog.categories,
                                 users=self.catalog.users),
            backends=self.backends, duration_s=self.duration_s,
            run_time_s=self.duration_s + RUN_TIME_MARGIN_S + 0.1 * self.duration_s,
            adapter=self.adapter, rates_path=self.rates_path,
        )
        cfg.write(load_dir / MASTER_CONFIG_FILE)
        self._master = ManagedProcess("master", [sys.executable, "-m", "cachechaos.traffic.master",
                                                 str(load_dir / MASTER_CONFIG_FILE)],
                                      self.run_dir / "nodes" / "master" / "master.log", env=env)
        self._master.start()
        if self.launch_workers is not None:
            self.launch_workers(int(bind.rpartition(":")[2]))
        if self.load_workers is None:
            connect = bind.replace("0.0.0.0", "127.0.0.1")
            for name in self._names:
                proc = ManagedProcess(name, [sys.executable, "-m", "cachechaos.traffic.worker", "--master", connect,
                                             "--name", name], self.run_dir / "nodes" / name / f"{name}.log", env=env)
                proc.start()
                self._procs.append(proc)
        self._wait_go(go, cfg.wait_s + 30.0)
        status = self.master_status()
        self._names = [w["name"] for w in status.get("workers", []) if w.get("share")]
        start_at = float(go.read_text())
        self.started_at = start_at
        time.sleep(max(0.0, start_at - time.time()))

    def _wait_go(self, go: Path, timeout_s: float) -> None:
        assert self._master is not None
        deadline = time.monotonic() + timeout_s
        while not go.exists():
            failed = [p.name for p in self._procs if not p.running]
            master_gone = not self._master.running
            if failed or master_gone or time.monotonic() > deadline:
                status = self.master_status()
                self.stop(timeout=2.0)
                if master_gone and status.get("state") == "too few workers":
                    raise TooFewWorkers(
                        f"{status.get('joined', 0)} of {status.get('wanted')} load workers joined the master at "
                        f"{status.get('bind')} within {status.get('wait_s', WORKER_WAIT_S):.0f} s; start one on a "
                        f"machine that reaches this one and the target with: cachechaos load-worker --master "
                        f"THIS_HOST:{str(status.get('bind', '')).rpartition(':')[2]}")
                why = (f"exited while booting: {', '.join(failed)}" if failed
                       else "the load master exited while starting" if master_gone
                       else f"not started within {timeout_s:.0f} s")
                raise RuntimeError(f"load processes {why}\n{self.log_tail()}")
            time.sleep(0.005)

    def stats(self) -> LoadStats:
        """Live aggregate over the workers, from the load/*.json files the master writes."""
        return aggregate(read_json(p) for n in self._names if (p := self.stats_path(n)).exists())

    def _all(self) -> list[ManagedProcess]:
        return ([self._master] if self._master is not None else []) + self._procs

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop: the master tells the workers to stop (users finish their request) and collects their
        final chunks; local workers exit once the master has them. SIGKILL after timeout."""
        if self._stopped:
            return
        self._stopped = True
        if self._master is not None:
            self._master.signal(signal.SIGTERM)
        if not self.wait(timeout):
            for proc in self._all():
                proc.signal(signal.SIGTERM)
            if not self.wait(2.0):
                for proc in self._all():
                    proc.kill()
        for proc in self._all():
            if proc.pid is not None:
                proc.wait()  # reap

    def wait(self, timeout: float | None = None) -> bool:
        """True when the master and every local worker have exited (at once if none was started)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while any(p.running for p in self._all()):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def lost(self) -> list[str]:
        """Workers the master gave up on (no heartbeat, gone without their final chunk), each with why:
        their records up to their last chunk are in the history, the rest of their share is missing."""
        return list(self.master_status().get("lost", []))

    def died(self) -> list[str]:
        """Lost workers, and a master or local worker that failed before it was told to stop."""
        out = self.lost()
        if self._stopped:
            return out
        named = {entry.split(" ", 1)[0] for entry in out}
        for p in self._all():
            code = p.returncode
            if code and p.name not in named:
                how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
                out.append(f"{p.name} ({how})")
        return out

    def returncodes(self) -> dict[str, int | None]:
        return {p.name: p.returncode for p in self._all()}

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_tail(lines)}" for p in self._all())


def free_port() -> int:
    """A TCP port free on loopback now (the local master binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
