"""`cachechaos load-worker --master HOST:PORT`: one load worker for a run started with --load-workers."""

from __future__ import annotations

import os
import sys

import click

from cachechaos.errors import ExitCode


@click.command("load-worker")
@click.option("--master", required=True, metavar="HOST:PORT",
              help="The run's load master: the host running `cachechaos run/gate/gameday start --load-workers N` "
                   "and its --master-bind port (default 5557).")
@click.option("--name", default=None, help="Process name in the run's history [default: load-<i>, given by the master].")
@click.option("--once", is_flag=True,
              help="Exit after one run [default: serve run after run, as a gate starts one master per row; Ctrl-C ends].")
def load_worker(master: str, name: str | None, once: bool) -> None:
    """Join a run's load master and drive its share of the load (docs/distributed-load.md).

    The worker needs to reach the master (TCP, the master's port) and the target's
    backends. It measures its clock against the master's, takes its share of the
    arrivals, sends its requests and ships what its users saw back to the master
    once a second. When the run's load is over it waits for the next run's master
    at the same address (a gate runs one per row), or exits with --once: exit 0
    after the run, 3 when the master cannot be reached.
    """
    # Not the worker module: it imports Locust, which must monkey-patch a fresh interpreter.
    from cachechaos.traffic.config import parse_address

    try:
        parse_address(master)
    except ValueError as exc:
        click.echo(f"error: --master: {exc}", err=True)
        raise SystemExit(ExitCode.BAD_INPUT) from None
    # A process of its own: Locust monkey-patches the standard library on import, before anything else.
    argv = [sys.executable, "-m", "cachechaos.traffic.worker", "--master", master]
    argv += (["--name", name] if name else []) + ([] if once else ["--keep-serving"])
    sys.stdout.flush()
    os.execv(sys.executable, argv)
