"""The packaged example compose project (targets/compose), brought up with the compose tool on the offline
image, for the tests of `kind: compose` and the kill-trial benchmark; `down -v` at the end whatever happened."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import docker

from cachechaos.checklist import TARGETS_DIR
from cachechaos.docker.compose import PROJECT_LABEL
from cachechaos.runtime.compose_spec import ComposeTopologySpec
from cachechaos.runtime.topology import load_topology

EXAMPLE = TARGETS_DIR / "compose"
IMAGE_VARIABLES = ("CACHECHAOS_REDIS_IMAGE", "CACHECHAOS_POSTGRES_IMAGE", "CACHECHAOS_TOXIPROXY_IMAGE",
                   "CACHECHAOS_TOOLKIT_IMAGE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def compose_command() -> list[str] | None:
    """`docker compose` (v2) when the engine's CLI has it, else `docker-compose` (v1), else None."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


@contextmanager
def example_project(engine: docker.DockerClient, toolkit_image: str, name: str) -> Iterator[str]:
    """The example project under `name`, up with `toolkit_image` in every service; its name.
    Raises LookupError when no compose tool is installed."""
    command = compose_command()
    if command is None:
        raise LookupError("neither `docker compose` nor `docker-compose` is installed")
    env = {**os.environ, **{variable: toolkit_image for variable in IMAGE_VARIABLES},
           "CACHECHAOS_BACKEND_1_PORT": str(free_port()), "CACHECHAOS_BACKEND_2_PORT": str(free_port())}
    base = [*command, "-p", name, "-f", str(EXAMPLE / "docker-compose.yml")]
    try:
        up = subprocess.run([*base, "up", "-d"], capture_output=True, text=True, env=env, timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        yield name
    finally:
        subprocess.run([*base, "down", "-v", "--remove-orphans", "-t", "1"], capture_output=True, env=env, timeout=180)
        left = engine.containers.list(ignore_removed=True, all=True, filters={"label": f"{PROJECT_LABEL}={name}"})
        assert not left, f"the example project left {[c.name for c in left]}"


def example_spec(project: str, **changes: object) -> ComposeTopologySpec:
    """The packaged topology.yaml, naming the project `project`."""
    spec = load_topology(EXAMPLE / "topology.yaml")
    assert isinstance(spec, ComposeTopologySpec)
    return ComposeTopologySpec.model_validate({**spec.model_dump(), "project": project, **changes})
