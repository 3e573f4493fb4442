"""`cachechaos proxy ...` commands (the lead registers the `proxy` group in the top-level CLI)."""

from __future__ import annotations

import logging
import sys

import click

from .compat import DIALECTS
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
@click.option(
    "--compat",
    type=click.Choice(sorted(DIALECTS)),
    default=None,
    help="Answer as an older Toxiproxy would: 2.0 (as 2.1, and no /populate), 2.1 (no PATCH, "
    "plain-text /version, no reset_peer) or 2.6 (/version body that is not valid JSON). "
    "Default: the current API.",
)
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="JSON list of proxies ({name, listen, upstream, enabled}) to create at start, as Toxiproxy's -config file.",
)
def serve(listen: str, compat: str | None, config: str | None) -> None:
    """Serve the Toxiproxy HTTP API and its proxies until SIGTERM or Ctrl-C."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    code = run_server(listen, compat, config)
    if code:
        raise SystemExit(code)
