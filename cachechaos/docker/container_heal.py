"""Heal steps of the container faults on containers the toolkit does not own (a user's compose project).

A compose project outlives the toolkit: a container it paused, cut off its network or killed stays so
when the toolkit is killed. Before acting, the fault journals one of these steps per container
(cachechaos.heal), naming the container by id and the network by name: `cachechaos heal` replays
them against the engine. Replays are idempotent: a container already running, already on its
network, or removed since, is reported as such.
"""

from __future__ import annotations

from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from cachechaos.docker import container_ops
from cachechaos.docker.engine import EngineUnavailable, connect

UNPAUSE = "unpause_container"
START = "start_container"
RECONNECT = "reconnect_container"
ACTIONS = (UNPAUSE, START, RECONNECT)


class ContainerStepFailed(Exception):
    """The engine could not be reached, or refused the undo: the fault stays unhealed."""


def unpause_step(node: str, container: Container) -> dict[str, Any]:
    return {"action": UNPAUSE, "node": node, "container": container.id, "name": container.name}


def start_step(node: str, container: Container) -> dict[str, Any]:
    return {"action": START, "node": node, "container": container.id, "name": container.name}


def reconnect_step(node: str, container: Container, network: str, aliases: list[str], ipv4: str | None) -> dict[str, Any]:
    return {"action": RECONNECT, "node": node, "container": container.id, "name": container.name, "network": network,
            "aliases": list(aliases), "ipv4": ipv4}


def _undo(client: docker.DockerClient, step: dict[str, Any], container: Container) -> str:
    action = step["action"]
    if action == UNPAUSE:
        return "unpaused" if container_ops.resume(container) else "not paused (already running)"
    if action == START:
        return "started" if container_ops.start_stopped(container) else f"already {container.status}"
    network = str(step["network"])
    if container_ops.reconnect(client, container, network, list(step.get("aliases") or []), step.get("ipv4")):
        return f"reconnected to {network}"
    return f"already on {network}"


def replay_container_step(step: dict[str, Any]) -> str:
    """Undo one container step; what it did. Raises ContainerStepFailed when the engine cannot do it."""
    where = f"container {step.get('name') or step['container']} ({step.get('node')})"
    try:
        client = connect(timeout=30)
    except EngineUnavailable as exc:
        raise ContainerStepFailed(f"{where}: {exc}") from exc
    try:
        try:
            container = client.containers.get(step["container"])
        except docker.errors.NotFound:
            return f"{where}: gone (the container was removed, and what the fault did with it)"
        return f"{where}: {_undo(client, step, container)}"
    except docker.errors.DockerException as exc:
        raise ContainerStepFailed(f"{where}: {exc}") from exc
    finally:
        client.close()
