"""The run's load master: `python -m cachechaos.traffic.master load/master-config.json`.

A Locust master (MasterRunner) that a LoadRun starts as a child process. Locust
carries the connections, heartbeats and messages; the load itself is the
toolkit's (workers run their users on their own shape, traffic/worker.py):

1. wait up to `wait_s` for `workers` workers to say hello (too few: exit 3, load/master.json says why);
2. measure every worker's clock against this one (NTP-style probes, traffic/clocks.py) and send the correction;
3. give each worker its share: process name, index, seed and ProcessConfig (`cc_config`), written to
   nodes/<name>/traffic.json for the record (the fidelity check draws each schedule again from it);
   workers beyond the load's need get no share and are told so;
4. once all are ready, send the common start time (`cc_go`) and write it to load/go for the LoadRun;
5. append every worker's chunks to history/<name>.hist and its statistics to load/<name>.json,
   re-measure the clocks every few seconds, and name a worker lost when its heartbeat stops;
6. on SIGTERM tell the workers to stop, wait for their final chunks, and write load/master.json
   (workers, chunks, records, lost).
"""

# ruff: noqa: I001 - the import order matters here
from __future__ import annotations

# Locust monkey-patches the standard library on import; it must come before everything else.
import locust  # noqa: F401

import argparse
import logging
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import gevent
from gevent.event import AsyncResult, Event
from locust.env import Environment
from locust.runners import STATE_MISSING, MasterRunner

from cachechaos.history.clock import now
from cachechaos.history.format import MAGIC, RECORD
from cachechaos.store.files import write_json, write_text_atomically
from cachechaos.store.rundir import HISTORY_DIR, LOAD_DIR
from cachechaos.traffic.clocks import CLOCKS_FILE, JOIN_PROBES, PROBE_EVERY_S, RUN_PROBES, Probe, best
from cachechaos.traffic.config import MasterConfig, ProcessConfig, parse_address
from cachechaos.traffic.runner import GO_FILE, MASTER_FILE, peak_users

log = logging.getLogger("cachechaos.traffic.master")

READY_TIMEOUT_S = 30.0
START_LEAD_S = 0.25  # the go message reaches every worker well within this
PROBE_TIMEOUT_S = 1.0


@dataclass
class Member:
    client_id: str
    name: str | None
    host: str
    pid: int
    index: int = -1
    share: bool = False
    chunks: int = 0
    records: int = 0  # records received
    shipped: int = 0  # records the worker says it recorded (its running count, per chunk)
    gaps: int = 0  # chunk sequence numbers never received
    final: bool = False
    lost: str | None = None  # why the worker was given up on
    probes: list[dict[str, float]] = field(default_factory=list)
    ready: Event = field(default_factory=Event)
    pong: AsyncResult | None = None
    file: BinaryIO | None = None

    def summary(self) -> dict[str, Any]:
        keep = ("client_id", "name", "host", "pid", "index", "share", "chunks", "records", "shipped", "gaps",
                "final", "lost")
        return {**{k: getattr(self, k) for k in keep}, "missing_records": max(0, self.shipped - self.records)}


class Master:
    def __init__(self, cfg: MasterConfig) -> None:
        self.cfg = cfg
        self.run_dir = cfg.run_dir
        host, port = parse_address(cfg.bind)
        self.env = Environment()
        self.runner: MasterRunner = self.env.create_master_runner(host, port)
        self.members: dict[str, Member] = {}
        self.stopping = Event()
        self.state = "waiting"
        for kind, handler in (("cc_hello", self._hello), ("cc_pong", self._pong), ("cc_ready", self._ready),
                              ("cc_chunk", self._chunk)):
            self.runner.register_message(kind, handler)

    # -- messages -------------------------------------------------------------------------------------

    def _hello(self, msg: Any, **_: Any) -> None:
        d = msg.data
        if self.state != "waiting":  # a worker early for the next run (a gate's next row): not this run's
            self.runner.send_message("cc_stop", None, client_id=msg.node_id)
            return
        if msg.node_id not in self.members:
            self.members[msg.node_id] = Member(msg.node_id, d.get("name"), str(d.get("host")), int(d.get("pid") or 0))
            log.info("worker %s joined (%s, pid %s): %d of %d", d.get("name") or msg.node_id, d.get("host"),
                     d.get("pid"), len(self.members), self.cfg.workers)
            self.write_status()

    def _pong(self, msg: Any, **_: Any) -> None:
        t2 = now()
        m = self.members.get(msg.node_id)
        if m is not None and m.pong is not None:
            m.pong.set(Probe(float(msg.data["t0"]), float(msg.data["t1"]), t2))

    def _ready(self, msg: Any, **_: Any) -> None:
        m = self.members.get(msg.node_id)
        if m is not None:
            m.ready.set()

    def _chunk(self, msg: Any, **_: Any) -> None:
        m = self.members.get(msg.node_id)
        if m is None or m.file is None:
            return
        d = msg.data
        data: bytes = d["data"]
        if len(data) % RECORD.size:
            log.error("%s: chunk %s is not whole records (%d bytes); dropped", m.name, d["seq"], len(data))
        else:
            m.file.write(data)  # whole records only, as HistoryWriter writes them
            m.records += len(data) // RECORD.size
        m.gaps += max(0, int(d["seq"]) - m.chunks - 1)
        m.chunks = int(d["seq"])
        m.shipped = int(d["total"])
        if d.get("stats") is not None:
            write_json(self.run_dir / LOAD_DIR / f"{m.name}.json", d["stats"], indent=None)
        if d.get("final"):
            m.final = True

    # -- clocks ---------------------------------------------------------------------------------------

    def probe(self, m: Member, count: int) -> None:
        """`count` round trips; the one with the shortest round trip sets the worker's correction."""
        probes = []
        for _ in range(count):
            m.pong = AsyncResult()
            self.runner.send_message("cc_ping", {"t0": now()}, client_id=m.client_id)
            try:
                probes.append(m.pong.get(timeout=PROBE_TIMEOUT_S))
            except gevent.Timeout:
                continue
        m.pong = None
        if not probes:
            return
        p = best(probes)
        self.runner.send_message("cc_clock", {"offset_s": p.offset}, client_id=m.client_id)
        m.probes.append({"at": p.t2, "offset_s": p.offset, "uncertainty_s": p.uncertainty, "probes": len(probes)})

    def probe_all(self, count: int) -> None:
        live = [m for m in self.members.values() if m.share and not m.final and m.lost is None]
        gevent.joinall([gevent.spawn(self.probe, m, count) for m in live])
        self.write_clocks()

    def write_clocks(self) -> None:
        workers = {}
        for m in self.members.values():
            if not m.share or not m.probes:
                continue
            last = m.probes[-1]
            workers[m.name] = {"host": m.host, "offset_s": last["offset_s"], "uncertainty_s": last["uncertainty_s"],
                               "max_uncertainty_s": max(p["uncertainty_s"] for p in m.probes), "probes": m.probes}
        write_json(self.run_dir / LOAD_DIR / CLOCKS_FILE, {"workers": workers})

    # -- the run --------------------------------------------------------------------------------------

    def write_status(self, **extra: Any) -> None:
        write_json(self.run_dir / LOAD_DIR / MASTER_FILE, {
            "state": self.state, "bind": self.cfg.bind, "wanted": self.cfg.workers,
            "joined": len(self.members),
            "workers": [m.summary() for m in sorted(self.members.values(), key=lambda m: m.index)],
            "lost": [f"{m.name} ({m.lost})" for m in self.members.values() if m.lost],
            "chunks": sum(m.chunks for m in self.members.values()),
            "records": sum(m.records for m in self.members.values()),
            **extra,
        })

    def wait_for_workers(self) -> bool:
        deadline = now() + self.cfg.wait_s
        while len(self.members) < self.cfg.workers and now() < deadline:
            gevent.sleep(0.05)
        return len(self.members) >= self.cfg.workers

    def assign(self) -> list[Member]:
        """Names and indexes (sorted by name, so local workers load-<i> get index i); the first ones get a share."""
        joined = sorted(self.members.values(), key=lambda m: (m.name is None, m.name or "", m.client_id))
        taken: set[str] = set()
        for i, m in enumerate(joined):
            m.index = i
            if m.name is None or m.name in taken:
                m.name = f"load-{i}"
            taken.add(m.name)
        spec = self.cfg.spec.model_copy(update={"processes": len(joined)})
        shares = max(1, min(len(joined), peak_users(spec)))
        spec = spec.model_copy(update={"processes": shares})
        for m in joined:
            m.share = m.index < shares
            if not m.share:
                why = f"the load needs {shares} worker(s) and {len(joined)} joined"
                self.runner.send_message("cc_config", {"name": m.name, "config": None, "reason": why},
                                         client_id=m.client_id)
        self.spec = spec
        return [m for m in joined if m.share]

    def configure(self, m: Member) -> None:
        cfg = self.cfg
        run_dir = self.run_dir
        pc = ProcessConfig(
            name=str(m.name), index=m.index, spec=self.spec, catalog=cfg.catalog, backends=cfg.backends,
            history_path=run_dir / HISTORY_DIR / f"{m.name}.hist", stats_path=run_dir / LOAD_DIR / f"{m.name}.json",
            start_at=now(), duration_s=cfg.duration_s, run_time_s=cfg.run_time_s,
            seed=self.spec.seed * 1_000 + m.index, adapter=cfg.adapter, rates_path=cfg.rates_path,
        )
        pc.write(run_dir / "nodes" / str(m.name) / "traffic.json")
        pc.history_path.parent.mkdir(parents=True, exist_ok=True)
        m.file = open(pc.history_path, "wb", buffering=0)  # noqa: SIM115 - closed in finish()
        m.file.write(MAGIC)
        self.runner.send_message("cc_config", {"name": m.name, "config": pc.model_dump_json()}, client_id=m.client_id)

    def watch(self, shares: list[Member], started_at: float) -> None:
        """Until every worker with a share sent its final chunk or was lost."""
        hard_end = started_at + self.cfg.run_time_s + 10.0
        next_probe = now() + PROBE_EVERY_S
        stop_deadline: float | None = None
        while True:
            for m in shares:
                if m.final or m.lost:
                    continue
                client = self.runner.clients.get(m.client_id)
                if client is None or client.state == STATE_MISSING:
                    m.lost = "left without its final chunk" if client is None else "no heartbeat"
                    log.error("worker %s lost (%s) after %d chunks, %d records", m.name, m.lost, m.chunks, m.records)
                    self.write_status()
            pending = [m for m in shares if not m.final and not m.lost]
            if not pending:
                return
            t = now()
            if self.stopping.is_set() and stop_deadline is None:
                stop_deadline = t + self.cfg.spec.request_timeout_s + 5.0
                for m in pending:
                    self.runner.send_message("cc_stop", None, client_id=m.client_id)
            if t > hard_end or (stop_deadline is not None and t > stop_deadline):
                for m in pending:
                    m.lost = "no final chunk in time"
                return
            if t >= next_probe and stop_deadline is None:
                gevent.spawn(self.probe_all, RUN_PROBES)
                next_probe = t + PROBE_EVERY_S
            gevent.sleep(0.1)

    def run(self) -> int:
        gevent.signal_handler(signal.SIGTERM, self.stopping.set)
        gevent.signal_handler(signal.SIGINT, self.stopping.set)
        self.write_status()
        if not self.wait_for_workers():
            self.state = "too few workers"
            self.write_status(wait_s=self.cfg.wait_s)
            log.error("%d of %d workers joined within %.0f s", len(self.members), self.cfg.workers, self.cfg.wait_s)
            self.runner.quit()
            return 3
        shares = self.assign()
        for m in shares:
            self.configure(m)
        gevent.joinall([gevent.spawn(self.probe, m, JOIN_PROBES) for m in shares])
        self.write_clocks()
        deadline = now() + READY_TIMEOUT_S
        while not all(m.ready.is_set() for m in shares):
            if now() > deadline or self.stopping.is_set():
                self.state = "workers not ready"
                self.write_status()
                self.runner.quit()
                return 3
            gevent.sleep(0.01)
        start_at = now() + START_LEAD_S
        for m in shares:
            self.runner.send_message("cc_go", {"start_at": start_at}, client_id=m.client_id)
        self.state = "running"
        self.write_status(started_at=start_at)
        write_text_atomically(self.run_dir / LOAD_DIR / GO_FILE, repr(start_at))
        try:
            self.watch(shares, start_at)
        finally:
            self.finish(start_at)
        return 0

    def finish(self, started_at: float) -> None:
        for m in self.members.values():
            if m.file is not None:
                m.file.close()
            self.runner.send_message("cc_bye" if m.share else "cc_stop", None, client_id=m.client_id)
        self.write_clocks()
        self.state = "done"
        self.write_status(started_at=started_at)
        gevent.sleep(0.2)  # the byes go out before the sockets close
        self.runner.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cachechaos.traffic.master", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path, help="load/master-config.json written by LoadRun")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stdout)
    return Master(MasterConfig.read(args.config)).run()


if __name__ == "__main__":
    sys.exit(main())
