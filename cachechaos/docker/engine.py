"""The connection to the Docker engine, and the one error every Docker command turns into an exit code."""

from __future__ import annotations

import docker
import docker.errors
from requests.exceptions import RequestException

from cachechaos.errors import EnvironmentFailure


class EngineUnavailable(EnvironmentFailure):
    """No Docker engine answers (not installed, not running, or no permission on its socket)."""


def connect(timeout: float = 60.0) -> docker.DockerClient:
    """A client of the engine named by DOCKER_HOST (default: the local socket), checked with a ping."""
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except (docker.errors.DockerException, RequestException, OSError) as exc:
        raise EngineUnavailable(f"no Docker engine answers: {exc}") from exc
    return client


def engine_answers() -> str | None:
    """None when an engine answers, else why not (for tests that skip and for `doctor`)."""
    try:
        connect(timeout=5).close()
    except EngineUnavailable as exc:
        return str(exc)
    return None
