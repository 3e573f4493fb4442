"""`cachechaos proxy ...` commands (the lead registers the `proxy` group in the top-level CLI)."""

from __future__ import annotations

import logging
import sys

import click

from .server import DEFAULT_API_LISTEN, run_server


@click.group(name="proxy")
def proxy() -> None:
    """The built-in Toxiproxy-compatible fault proxy."""


@proxy.command()
@click.option(
    "--listen",
    default=DEFAULT_API_LISTEN,
    show_default=True,
    metavar="HOST:PORT",
    help="Address of the HTTP API (Toxiproxy's default port is 8474; use port 0 for a free one).",
)
def serve(listen: str) -> None:
    """Serve the Toxiproxy HTTP API and its proxies until SIGTERM or Ctrl-C."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    code = run_server(listen)
    if code:
        raise SystemExit(code)
