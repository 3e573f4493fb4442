"""`cachechaos images ...`: the images the Docker runtime runs (registered in the top-level CLI)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import docker
from rich.console import Console
from rich.table import Table

from cachechaos.console import err, out
from cachechaos.errors import ExitCode


def _progress(message: str) -> None:
    err.print(f"[dim]{message}[/]", highlight=False)


@click.group(name="images")
def images() -> None:
    """Images of the Docker runtime (kind: docker): build what is missing, list what is there."""


@images.command("build")
@click.option("--offline", is_flag=True,
              help="Build without a registry: a Debian root filesystem made with debootstrap (needs root) is the base, "
                   "and the toolkit's image on it runs every node. Default: official images (pulled) plus the toolkit's.")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path), default=Path(".cachechaos/images"),
              show_default=True, help="Where the debootstrap log goes.")
@click.option("--json", "as_json", is_flag=True, help="Print the images and the time taken as JSON on stdout.")
def build_command(offline: bool, log_dir: Path, as_json: bool) -> None:
    """Build (or pull) every image the Docker runtime needs that the engine lacks; reuse the rest."""
    from cachechaos.docker.engine import EngineUnavailable, connect
    from cachechaos.docker.images import ImageBuildError, build

    started = time.monotonic()
    try:
        client = connect(timeout=900)
        try:
            made = build(client, "offline" if offline else "official", _progress, log_dir)
        finally:
            client.close()
    except (EngineUnavailable, ImageBuildError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(ExitCode.ENVIRONMENT)
    took = time.monotonic() - started
    if as_json:
        click.echo(json.dumps({**made.__dict__, "seconds": round(took, 1)}, indent=2))
        return
    table = Table(title=f"images ({made.flavour})", title_justify="left")
    table.add_column("node kind")
    table.add_column("image")
    for kind in ("redis", "postgres", "toxiproxy", "toolkit"):
        table.add_row(kind, getattr(made, kind))
    out.print(table)
    err.print(f"ready in {took:.1f}s")


@images.command("list")
def list_command() -> None:
    """Show which images of each flavour the engine has."""
    from cachechaos.docker.engine import EngineUnavailable, connect

    try:
        client = connect()
    except EngineUnavailable as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(ExitCode.ENVIRONMENT)
    try:
        render_status(client, out)
    finally:
        client.close()


def render_status(client: docker.DockerClient, console: Console) -> None:
    """The image table `images list` and `doctor` print."""
    from cachechaos.docker.images import status

    table = Table(title="Docker images (kind: docker)", title_justify="left")
    for col in ("flavour", "image", "runs", "present"):
        table.add_column(col)
    for row in status(client):
        table.add_row(str(row["flavour"]), str(row["image"]), str(row["role"]), "[green]yes[/]" if row["present"] else "[yellow]no[/]")
    console.print(table)
