"""The container faults' engine calls, for every runtime whose nodes are containers: the toolkit's own
(`kind: docker`) and a user's compose project (`kind: compose`).

Each undo is safe to call when there is nothing to undo (heal after a failed or partial inject).
"""

from __future__ import annotations

from typing import Any

import docker
import docker.errors


def resume(container: docker.models.containers.Container) -> bool:
    """Unpause the container if it is paused; whether it was."""
    container.reload()
    if container.status != "paused":
        return False
    container.unpause()
    return True


def attachments(container: docker.models.containers.Container) -> dict[str, dict[str, Any]]:
    """The networks the container is on, by name, as the engine describes its endpoint there."""
    container.reload()
    return dict(container.attrs["NetworkSettings"]["Networks"] or {})


def disconnect(client: docker.DockerClient, container: docker.models.containers.Container, network: str) -> None:
    """Cut the container off `network`: packets to and from it there go nowhere."""
    client.api.disconnect_container_from_network(container.id, network, force=True)


def reconnect(client: docker.DockerClient, container: docker.models.containers.Container, network: str,
              aliases: list[str], ipv4_address: str | None = None) -> bool:
    """Put the container back on `network` under its aliases (and address, where the network has a fixed
    subnet) unless it is there already; whether it had to."""
    if network in attachments(container):
        return False
    client.api.connect_container_to_network(container.id, network, ipv4_address=ipv4_address, aliases=aliases or None)
    return True


def network_attachments(container: docker.models.containers.Container) -> list[tuple[str, list[str], str | None]]:
    """(network, aliases, fixed IPv4 address) of each network the container is on: what reconnecting it needs."""
    out = []
    for network, endpoint in attachments(container).items():
        # The container's short id is an alias the engine adds by itself on connect.
        aliases = [a for a in endpoint.get("Aliases") or [] if not container.id.startswith(a)]
        fixed = (endpoint.get("IPAMConfig") or {}).get("IPv4Address") or None
        out.append((network, aliases, fixed))
    return out


def start_stopped(container: docker.models.containers.Container) -> bool:
    """Start the container if it is stopped; whether it was."""
    container.reload()
    if container.status not in ("exited", "created", "dead"):
        return False
    container.start()
    return True
