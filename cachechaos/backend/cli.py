"""`cachechaos backend serve`: run one instance of the sample backend."""

from __future__ import annotations

import sys

import click
from pydantic import ValidationError

from cachechaos.backend.config import load_config


@click.group(name="backend")
def backend() -> None:
    """The sample marketplace backend (system under test)."""


@backend.command()
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="YAML or JSON BackendConfig.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
def serve(config_path: str, host: str, port: int) -> None:
    """Serve the backend HTTP API until SIGTERM/SIGINT."""
    try:
        cfg = load_config(config_path)
    except ValidationError as exc:
        click.echo(f"{config_path}: invalid backend config:\n{exc}", err=True)
        sys.exit(2)
    from cachechaos.backend.server import serve as run

    run(cfg, host, port)
