"""Removing labelled resources: what `down`, `down --all` and the reaper all do."""

from __future__ import annotations

from dataclasses import dataclass, field

import docker
import docker.errors

from cachechaos.docker.labels import run_filter


@dataclass
class Swept:
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.containers) + len(self.networks) + len(self.volumes)


def sweep(client: docker.DockerClient, run_id: str | None = None, keep: frozenset[str] = frozenset()) -> Swept:
    """Remove the containers (with their anonymous volumes), networks and volumes of `run_id`, or of every run.

    `keep` names container ids not to remove (the reaper sweeping its own run). Containers go
    first: a network with endpoints cannot be removed.
    """
    done = Swept()
    filters = run_filter(run_id)
    # ignore_removed: list() inspects each container it found, and one may be gone by then (the
    # reaper or a `down` removing the same run): a race, not an error.
    for container in client.containers.list(ignore_removed=True, all=True, filters=filters):
        if container.id in keep:
            continue
        try:
            # v=True: official images declare VOLUMEs, whose anonymous volumes carry no label.
            container.remove(force=True, v=True)
            done.containers.append(container.name)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            done.errors.append(f"container {container.name}: {exc}")
    for network in client.networks.list(filters=filters):
        try:
            network.reload()
            for attached in network.containers:
                if attached.id not in keep:
                    network.disconnect(attached, force=True)
            if not any(c.id in keep for c in network.containers):
                network.remove()
                done.networks.append(network.name)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            done.errors.append(f"network {network.name}: {exc}")
    for volume in client.volumes.list(filters=filters):
        try:
            volume.remove(force=True)
            done.volumes.append(volume.name)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            done.errors.append(f"volume {volume.name}: {exc}")
    return done
