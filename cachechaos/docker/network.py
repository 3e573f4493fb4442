"""The run's private bridge network, with a subnet of its own so every node keeps one address.

Addresses must not move: Sentinel announces them, the proxies forward to them and the load
generator holds the backends' URLs, while a killed, restarted or disconnected container would get
a new address from the engine's pool. Docker only accepts fixed addresses on a network whose
subnet was given at creation, so the subnet is one the engine itself picks (a first network, made
and removed at once), then given back explicitly.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import docker
import docker.errors
import docker.types

from cachechaos.docker.labels import run_labels


@dataclass
class RunNetwork:
    name: str
    subnet: ipaddress.IPv4Network
    network: docker.models.networks.Network

    def address(self, index: int) -> str:
        """The index-th host address of the subnet (1 is the gateway, on the host)."""
        return str(self.subnet.network_address + index)


def create_network(client: docker.DockerClient, name: str, run_id: str, attempts: int = 3) -> RunNetwork:
    """A labelled bridge network with an explicit subnet the engine chose as free."""
    last: Exception | None = None
    for _ in range(attempts):
        probe = client.networks.create(name, driver="bridge", labels=run_labels(run_id))
        try:
            probe.reload()
            subnet = ipaddress.ip_network(probe.attrs["IPAM"]["Config"][0]["Subnet"])
        finally:
            probe.remove()
        assert isinstance(subnet, ipaddress.IPv4Network)
        pool = docker.types.IPAMPool(subnet=str(subnet), gateway=str(subnet.network_address + 1))
        try:
            network = client.networks.create(name, driver="bridge", labels=run_labels(run_id),
                                              ipam=docker.types.IPAMConfig(pool_configs=[pool]))
        except docker.errors.APIError as exc:  # another network took the subnet in between
            last = exc
            continue
        return RunNetwork(name, subnet, network)
    raise RuntimeError(f"could not create the run's network {name}: {last}")
