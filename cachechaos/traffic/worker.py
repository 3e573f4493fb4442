"""One load worker: `python -m cachechaos.traffic.worker --master HOST:PORT [--name NAME]`.

A Locust worker (WorkerRunner) of the run's master (traffic/master.py), on this
machine or any other that reaches the master and the target. Everything goes
over Locust's message channel, nothing over files: the master measures this
machine's clock against its own (`cc_ping`/`cc_pong`, the correction applied
here through `history.clock.set_offset`), sends this worker's configuration
and share of the load (`cc_config`) and the common start time (`cc_go`); the
worker streams its history records and live statistics back once a second
(`cc_chunk`), the last chunk marked final with the totals.

The users themselves run on a local runner of their own Environment, driven by
the worker's shape exactly as a single-process run drives them: the master
decides who sends what, not how Locust spawns users.

Runs Locust as a library rather than through its CLI: the CLI installs its
SIGTERM handler only after a shape test has finished, so a SIGTERM during a
shaped run would kill the process without flushing the history. Here SIGTERM
and SIGINT stop the users gracefully (each finishes its in-flight request, so
every sent request gets a record), then the history is flushed and closed.
"""

# ruff: noqa: I001 - the import order matters here
from __future__ import annotations

# Locust monkey-patches the standard library on import; it must come before everything else.
import locust  # noqa: F401

import argparse
import socket
import logging
import os
import signal
import sys
import time

import gevent
from gevent.event import Event
from locust.runners import WorkerRunner
from locust import FastHttpUser
from locust.env import Environment

from cachechaos.history.clock import local_now, now, set_offset
from cachechaos.history.writer import ChunkWriter, HistoryWriter
from cachechaos.traffic.config import ProcessConfig, parse_address
from cachechaos.traffic.locust_shapes import RampLoadShape, SpikeLoadShape, SteadyLoadShape, TimelineShape
from cachechaos.traffic.recorder import Recorder
from cachechaos.traffic.shapes import Ramp, Spike, process_shape
from cachechaos.traffic.stats_writer import StatsWriter
from cachechaos.traffic.adapted import shop_factory_for
from cachechaos.traffic.users import ArrivalUser, make_user_class

log = logging.getLogger("cachechaos.traffic.worker")


class LoadProcess:
    """The history, the user class, the shape and the stats file of one load process."""

    def __init__(self, cfg: ProcessConfig, writer: HistoryWriter | None = None) -> None:
        self.cfg = cfg
        self.recorder = Recorder(writer if writer is not None else HistoryWriter(cfg.history_path))
        self.user_class: type[FastHttpUser] = make_user_class(cfg, self.recorder, shop_factory_for(cfg))
        shape = process_shape(cfg.spec, cfg.index, cfg.duration_s)
        shape_class: type[TimelineShape] = (
            RampLoadShape if isinstance(shape, Ramp) else SpikeLoadShape if isinstance(shape, Spike) else SteadyLoadShape
        )
        self.shape = shape_class(shape, cfg.start_at)
        self.stats: StatsWriter | None = None
        self._closed = False

    def arrivals(self) -> dict[str, int] | None:
        """The open model's own accounting: arrivals due so far, sent, and dropped at max_in_flight."""
        cls = self.user_class
        if not issubclass(cls, ArrivalUser):
            return None
        return {"scheduled": cls.scheduled, "sent": cls.sent, "dropped": cls.dropped}

    def attach(self, env: Environment) -> None:
        self.stats = StatsWriter(env, self.cfg.stats_path, self.cfg.name, extra=self.arrivals)
        self.stats.start()

    def close(self) -> None:
        """Final stats and the history on disk; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.stats is not None:
                self.stats.stop()
        finally:
            self.recorder.close()


CHUNK_EVERY_S = 1.0
INTERRUPTED = Event()  # SIGTERM or SIGINT: no further run either
CURRENT: list[LoadWorker] = []  # the worker of the run this process is in, once joined


def _interrupted() -> None:
    """SIGTERM/SIGINT: a run's load stops gracefully (its final chunk goes out); between runs, leave at once."""
    INTERRUPTED.set()
    if CURRENT and CURRENT[0].proc is not None and not CURRENT[0].finished.is_set():
        CURRENT[0]._stop(None)
    else:
        os._exit(0)  # nothing recorded, nothing to flush: no need to wait out Locust's connection retries


# Without a heartbeat from the master for this long, the worker gives up (its records so far were shipped).
MASTER_GONE_S = 5.0


class LoadWorker:
    """The worker's side of the message channel, and its load once configured."""

    def __init__(self, runner: WorkerRunner, name: str | None) -> None:
        self.runner = runner
        self.name = name
        self.cfg: ProcessConfig | None = None
        self.proc: LoadProcess | None = None
        self.writer = ChunkWriter()
        self.stats: StatsWriter | None = None
        self.seq = 0
        self.stop = Event()  # the load is to end now
        self.finished = Event()  # the final chunk went out (or there was nothing to do): the process may exit
        self.bye = Event()
        for kind, handler in (("cc_ping", self._ping), ("cc_clock", self._clock), ("cc_config", self._config),
                              ("cc_go", self._go), ("cc_stop", self._stop), ("cc_bye", self._bye)):
            runner.register_message(kind, handler)

    def hello(self) -> None:
        self.runner.send_message("cc_hello", {"name": self.name, "host": socket.gethostname(), "pid": os.getpid()})

    def _ping(self, msg: object, **_: object) -> None:
        data = msg.data  # type: ignore[attr-defined]
        self.runner.send_message("cc_pong", {"t0": data["t0"], "t1": local_now()})

    def _clock(self, msg: object, **_: object) -> None:
        set_offset(msg.data["offset_s"])  # type: ignore[attr-defined]

    def _config(self, msg: object, **_: object) -> None:
        data = msg.data  # type: ignore[attr-defined]
        if data.get("config") is None:
            log.info("%s: no share of the load: %s", data.get("name"), data.get("reason"))
            self.name = data.get("name")
            return
        cfg = ProcessConfig.model_validate_json(data["config"])
        self.name = cfg.name
        self.cfg = cfg
        self.runner.send_message("cc_ready", {"name": cfg.name})

    def _go(self, msg: object, **_: object) -> None:
        if self.cfg is not None:
            # The users' plan captures the start time: the process is built once it is known.
            cfg = self.cfg.model_copy(update={"start_at": float(msg.data["start_at"])})  # type: ignore[attr-defined]
            self.proc = LoadProcess(cfg, self.writer)
            gevent.spawn(self.run_load)

    def _stop(self, msg: object, **_: object) -> None:
        self.stop.set()
        if self.proc is None:  # no share, or not started yet: nothing to ship
            self.finished.set()

    def _bye(self, msg: object, **_: object) -> None:
        self.bye.set()

    def ship(self, final: bool = False) -> None:
        """One chunk: the records since the last one and the live statistics."""
        data, total = self.writer.take()
        self.seq += 1
        self.runner.send_message("cc_chunk", {
            "name": self.name, "seq": self.seq, "data": data, "total": total, "final": final,
            "stats": self.stats.snapshot(done=final) if self.stats is not None else None,
        })

    def _shipper(self) -> None:
        while True:
            gevent.sleep(CHUNK_EVERY_S)
            self.ship()

    def run_load(self) -> None:
        proc = self.proc
        assert proc is not None
        cfg = proc.cfg
        # Users finish the request in flight (bounded by its timeout) instead of being killed mid-way.
        env = Environment(user_classes=[proc.user_class], shape_class=proc.shape,
                          stop_timeout=cfg.spec.request_timeout_s + 0.5)
        runner = env.create_local_runner()
        self.stats = StatsWriter(env, None, cfg.name, extra=proc.arrivals)
        env.events.test_stop.add_listener(lambda **_: self.stop.set())
        gevent.sleep(max(0.0, cfg.start_at - now()))
        safety = gevent.spawn_later(cfg.run_time_s, self.stop.set)
        # The shape is ticked once a second; this ends the load on time to the millisecond.
        end = gevent.spawn_later(max(0.0, cfg.start_at + cfg.duration_s - now()), self.stop.set)
        shipper = gevent.spawn(self._shipper)
        try:
            runner.start_shape()
            self.stop.wait()
            runner.quit()
        finally:
            safety.kill(block=False)
            end.kill(block=False)
            shipper.kill(block=True)
            self.ship(final=True)
            self.finished.set()
        log.info("%s: %d requests recorded and shipped in %d chunks", cfg.name, self.writer.count, self.seq)


def serve(master: str, name: str | None) -> int:
    """Join the master at `master` (HOST:PORT), do what it says, return once the run is over for this worker."""
    host, port = parse_address(master)
    chan = Environment()
    try:
        runner = chan.create_worker_runner(host, port)
    except ConnectionError:
        log.error("could not reach a cachechaos master at %s:%d", host, port)
        return 3
    worker = LoadWorker(runner, name)
    worker.hello()
    log.info("joined the master at %s:%d as %s (pid %d)", host, port, name or "(named by the master)", os.getpid())
    CURRENT[:] = [worker]
    while not worker.finished.wait(0.5):
        last = runner.last_heartbeat_timestamp
        if not len(runner.greenlet) or (last is not None and time.time() - last > MASTER_GONE_S):
            log.error("lost the master at %s:%d", host, port)
            worker._stop(None)
            if worker.proc is None:
                break
    worker.bye.wait(5.0)  # the master has the final chunk (or is gone)
    # Leave once the master has quit (Locust's quit message ends the runner's greenlets), so that
    # with --keep-serving the next connection reaches the next run's master, not this one.
    deadline = time.monotonic() + 10.0
    while len(runner.greenlet) and time.monotonic() < deadline:
        gevent.sleep(0.1)
    runner.quit()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cachechaos.traffic.worker", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--master", required=True, help="HOST:PORT of the run's master")
    parser.add_argument("--name", default=None, help="process name (history file stem); default: given by the master")
    parser.add_argument("--keep-serving", action="store_true",
                        help="after a run, wait for the next master at the same address (a gate runs one per row)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stdout)
    gevent.signal_handler(signal.SIGTERM, _interrupted)
    gevent.signal_handler(signal.SIGINT, _interrupted)
    while True:
        set_offset(0.0)  # every run measures this clock against its own master
        code = serve(args.master, args.name)
        if not args.keep_serving or INTERRUPTED.is_set():
            return code
        # The run's master takes a moment to exit: a worker connecting at once would join it, not the next.
        gevent.sleep(1.0)


if __name__ == "__main__":
    sys.exit(main())
