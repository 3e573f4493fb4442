"""LoadRun: the experiment layer's handle on the load processes of one run.

One independent Locust process per core (`python -m cachechaos.traffic.worker`),
each with its share of the users, its own history file and its own live stats
file. Independent processes rather than Locust's `--processes` (master + forked
workers): no master process and no stats traffic between them, every child is
spawned through ManagedProcess (so it dies with the toolkit, which a worker
forked by Locust would not), and a process's history never depends on another
process being alive.

Files of process `load-<i>` in the run directory:

    nodes/load-<i>/traffic.json   its configuration (ProcessConfig)
    nodes/load-<i>/load-<i>.log   its output
    history/load-<i>.hist         what its users saw
    load/load-<i>.json            live statistics, rewritten every second
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import cachechaos
from cachechaos.adapters.model import AdapterSpec
from cachechaos.runtime.process import ManagedProcess
from cachechaos.store.files import read_json, write_text_atomically
from cachechaos.store.rundir import HISTORY_DIR, LOAD_DIR
from cachechaos.traffic.arrivals import open_shape
from cachechaos.traffic.config import CatalogModel, ProcessConfig
from cachechaos.traffic.loadstats import LoadStats, aggregate
from cachechaos.traffic.rate_steps import RATES_FILE
from cachechaos.traffic.runner_client import RunnerClient
from cachechaos.traffic.spec import Catalog, RampShape, SpikeShape, SteadyShape, TrafficSpec

__all__ = ["Catalog", "LoadRun", "LoadStats", "RunnerClient", "TrafficSpec"]

# The safety net: a process quits on its own this long after the planned end.
RUN_TIME_MARGIN_S = 5.0
# How long the processes may take to boot (import Python and Locust) before the load starts.
BOOT_TIMEOUT_S = 60.0
GO_FILE = "go"


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
                 catalog: Catalog, adapter: AdapterSpec | None = None, live_rate: bool = False) -> None:
        if not backends:
            raise ValueError("LoadRun needs at least one backend URL")
        if duration_s <= 0:
            raise ValueError(f"duration_s must be positive, not {duration_s}")
        # A process without users would only cost a core's worth of start-up.
        processes = max(1, min(spec.processes, peak_users(spec)))
        self.spec = spec.model_copy(update={"processes": processes})
        self.backends = list(backends)
        self.run_dir = Path(run_dir)
        self.duration_s = duration_s
        self.catalog = catalog
        self.adapter = adapter
        self._names = [f"load-{i}" for i in range(processes)]
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

    def ready_path(self, name: str) -> Path:
        return self.run_dir / LOAD_DIR / f"{name}.ready"

    def start(self) -> None:
        """Spawn the load processes, wait until all have booted, start them together and return at that moment.

        Call from the main thread. The load's timeline (duration, shapes, arrivals) starts on return.
        """
        if self._procs:
            return
        go = self.run_dir / LOAD_DIR / GO_FILE
        go.unlink(missing_ok=True)
        start_at = time.time()  # provisional: the go file carries the real one
        env = dict(os.environ)
        # The children import this very checkout, installed or not.
        root = str(Path(cachechaos.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        catalog = CatalogModel(products=self.catalog.products, categories=self.catalog.categories,
                               users=self.catalog.users)
        for index, name in enumerate(self._names):
            cfg = ProcessConfig(
                name=name, index=index, spec=self.spec, catalog=catalog, backends=self.backends,
                history_path=self.history_path(name), stats_path=self.stats_path(name),
                start_at=start_at, go_path=go, ready_path=self.ready_path(name), duration_s=self.duration_s,
                run_time_s=self.duration_s + RUN_TIME_MARGIN_S + 0.1 * self.duration_s,
                seed=self.spec.seed * 1_000 + index, adapter=self.adapter, rates_path=self.rates_path,
            )
            cfg.write(self.config_path(name))
            proc = ManagedProcess(
                name, [sys.executable, "-m", "cachechaos.traffic.worker", str(self.config_path(name))],
                self.config_path(name).parent / f"{name}.log", env=env,
            )
            proc.start()
            self._procs.append(proc)
        self._wait_ready()
        start_at = time.time() + 0.01
        write_text_atomically(go, repr(start_at))
        self.started_at = start_at
        time.sleep(max(0.0, start_at - time.time()))

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while not all(self.ready_path(n).exists() for n in self._names):
            failed = [p.name for p in self._procs if not p.running]
            if failed or time.monotonic() > deadline:
                why = f"exited while booting: {', '.join(failed)}" if failed else f"not ready within {BOOT_TIMEOUT_S:.0f} s"
                self.stop(timeout=2.0)
                raise RuntimeError(f"load processes {why}\n{self.log_tail()}")
            time.sleep(0.005)

    def stats(self) -> LoadStats:
        """Live aggregate over the processes, from their load/*.json files."""
        return aggregate(read_json(self.stats_path(n)) for n in self._names)

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM: users finish their request, histories are flushed); SIGKILL after timeout."""
        if self._stopped:
            return
        self._stopped = True
        for proc in self._procs:
            proc.signal(signal.SIGTERM)
        if not self.wait(timeout):
            for proc in self._procs:
                proc.kill()
        for proc in self._procs:
            if proc.pid is not None:
                proc.wait()  # reap

    def wait(self, timeout: float | None = None) -> bool:
        """True when every process has exited (at once if none was started)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while any(p.running for p in self._procs):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def died(self) -> list[str]:
        """Processes that failed before they were told to stop, each with how it ended.

        A process ends by itself (status 0) when the load's duration is over; anything else
        before stop() means its share of the traffic is missing from the run.
        """
        if self._stopped:
            return []
        out = []
        for p in self._procs:
            code = p.returncode
            if code:
                how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
                out.append(f"{p.name} ({how})")
        return out

    def returncodes(self) -> dict[str, int | None]:
        return {p.name: p.returncode for p in self._procs}

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_tail(lines)}" for p in self._procs)
