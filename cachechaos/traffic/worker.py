"""One load process: `python -m cachechaos.traffic.worker CONFIG.json`.

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
import logging
import os
import signal
import sys
import time
from pathlib import Path

import gevent
from gevent.event import Event
from locust import FastHttpUser
from locust.env import Environment

from cachechaos.history.writer import HistoryWriter
from cachechaos.traffic.config import ProcessConfig
from cachechaos.traffic.locust_shapes import RampLoadShape, SpikeLoadShape, SteadyLoadShape, TimelineShape
from cachechaos.traffic.recorder import Recorder
from cachechaos.traffic.shapes import Ramp, Spike, process_shape
from cachechaos.traffic.stats_writer import StatsWriter
from cachechaos.traffic.adapted import shop_factory_for
from cachechaos.traffic.users import ArrivalUser, make_user_class

log = logging.getLogger("cachechaos.traffic.worker")


class LoadProcess:
    """The history, the user class, the shape and the stats file of one load process."""

    def __init__(self, cfg: ProcessConfig) -> None:
        self.cfg = cfg
        self.recorder = Recorder(HistoryWriter(cfg.history_path))
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


def run(cfg: ProcessConfig) -> int:
    proc = LoadProcess(cfg)
    # Users finish the request in flight (bounded by its timeout) instead of being killed mid-way.
    env = Environment(user_classes=[proc.user_class], shape_class=proc.shape,
                      stop_timeout=cfg.spec.request_timeout_s + 0.5)
    runner = env.create_local_runner()
    done = Event()

    def finish(reason: str) -> None:
        if not done.is_set():
            log.info("%s: stopping (%s)", cfg.name, reason)
            done.set()

    env.events.test_stop.add_listener(lambda **_: finish("shape finished"))
    gevent.signal_handler(signal.SIGTERM, finish, "SIGTERM")
    gevent.signal_handler(signal.SIGINT, finish, "SIGINT")
    safety = gevent.spawn_later(cfg.run_time_s, finish, "run time limit reached")
    # The shape is ticked once a second; this ends the load on time to the millisecond.
    end = gevent.spawn_later(max(0.0, cfg.start_at + cfg.duration_s - time.time()), finish, "duration reached")

    proc.attach(env)
    try:
        runner.start_shape()
        done.wait()
        runner.quit()
    finally:
        safety.kill(block=False)
        end.kill(block=False)
        proc.close()
    count = proc.recorder.writer.count
    log.info("%s: %d requests recorded to %s", cfg.name, count, cfg.history_path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cachechaos.traffic.worker", description=__doc__)
    parser.add_argument("config", type=Path, help="process configuration written by LoadRun")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stdout)
    cfg = ProcessConfig.read(args.config).wait_for_go()
    log.info("%s: starting (pid %d, shape %s, %d backends, %.2f s after the run's start)",
             cfg.name, os.getpid(), cfg.spec.shape.kind, len(cfg.backends), time.time() - cfg.start_at)
    return run(cfg)


if __name__ == "__main__":
    sys.exit(main())
