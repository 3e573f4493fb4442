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
def load_worker(master: str, name: str | None) -> None:
    """Join a run's load master and drive its share of the load (docs/distributed-load.md).

    The worker needs to reach the master (TCP, the master's port) and the target's
    backends. It measures its clock against the master's, takes its share of the
    arrivals, sends its requests and ships what its users saw back to the master
    once a second; it exits when the run's load is over. Exit 0 after a run, 3 when
    the master cannot be reached.
    """
    from cachechaos.traffic.worker import parse_address

    try:
        parse_address(master)
    except ValueError as exc:
        click.echo(f"error: --master: {exc}", err=True)
        raise SystemExit(ExitCode.BAD_INPUT) from None
    # A process of its own: Locust monkey-patches the standard library on import, before anything else.
    argv = [sys.executable, "-m", "cachechaos.traffic.worker", "--master", master] + (["--name", name] if name else [])
    sys.stdout.flush()
    os.execv(sys.executable, argv)
