"""The reaper: a container that removes a run's resources once the toolkit is gone.

Modelled on Testcontainers' Ryuk. The toolkit starts one reaper per run, on the run's network,
with the engine's socket mounted, and keeps a TCP connection to it open for as long as the run
lives. The kernel closes that connection however the toolkit ends, SIGKILL included; the reaper
then waits a short grace period for a reconnection and removes every container, network and
volume labelled with the run, itself last (it runs with auto-remove).

Run inside the container as `python -m cachechaos.docker.reaper --run RUN_ID`.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import sys
import time
from dataclasses import dataclass

import docker
import docker.errors

from cachechaos.docker import labels
from cachechaos.docker.sweep import sweep

PORT = 8555
ACK = b"ACK\n"
# Without a first connection within this time the toolkit died while starting the run.
FIRST_CONNECT_S = 60.0


def serve(run_id: str, port: int, grace_s: float, first_connect_s: float = FIRST_CONNECT_S) -> None:
    """Hold connections until none is left for `grace_s` seconds, then sweep the run."""
    listener = socket.create_server(("0.0.0.0", port), reuse_port=False)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    clients = 0
    ever_connected = False
    alone_since = time.monotonic()
    print(f"reaper for run {run_id} listening on :{port}", flush=True)
    while True:
        limit = grace_s if ever_connected else first_connect_s
        if clients == 0 and time.monotonic() - alone_since >= limit:
            break
        for key, _ in selector.select(timeout=0.2):
            if key.fileobj is listener:
                conn, peer = listener.accept()
                conn.setblocking(False)
                conn.sendall(ACK)
                selector.register(conn, selectors.EVENT_READ)
                clients += 1
                ever_connected = True
                print(f"connected: {peer}", flush=True)
                continue
            conn = key.fileobj  # type: ignore[assignment]
            try:
                data = conn.recv(4096)
            except (ConnectionError, BlockingIOError):
                data = b""
            if not data:
                selector.unregister(conn)
                conn.close()
                clients -= 1
                if clients == 0:
                    alone_since = time.monotonic()
                print("a connection closed", flush=True)
    print(f"no connection for {limit:.0f}s: removing run {run_id}", flush=True)
    reap(run_id)


def reap(run_id: str) -> None:
    """Remove the run's resources; the reaper's own container is left to auto-remove."""
    client = docker.from_env()
    me = _own_container(client)
    keep = frozenset({me.id}) if me is not None else frozenset()
    done = sweep(client, run_id, keep=keep)
    if me is not None:
        # The reaper sits on the run's network: leave it, so the network can go too.
        for network in client.networks.list(filters=labels.run_filter(run_id)):
            try:
                network.disconnect(me, force=True)
                network.remove()
                done.networks.append(network.name)
            except docker.errors.APIError as exc:
                done.errors.append(f"network {network.name}: {exc}")
    print(f"removed {len(done.containers)} container(s), {len(done.networks)} network(s), "
          f"{len(done.volumes)} volume(s)", flush=True)
    for error in done.errors:
        print(f"error: {error}", file=sys.stderr, flush=True)


def _own_container(client: docker.DockerClient) -> docker.models.containers.Container | None:
    try:
        return client.containers.get(socket.gethostname())  # a container's hostname is its short id
    except docker.errors.NotFound:
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", required=True, help="the run whose labelled resources to remove")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--grace", type=float, default=2.0, help="seconds to wait for a reconnection")
    args = parser.parse_args(argv)
    serve(args.run, args.port, args.grace)


# -- the toolkit's side -----------------------------------------------------------------------------

def _socket_mount() -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """How the reaper reaches the engine: the local socket mounted, or DOCKER_HOST passed on."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://"):
        path = host.removeprefix("unix://")
        return {path: {"bind": "/var/run/docker.sock", "mode": "rw"}}, {}
    return {}, {"DOCKER_HOST": host}


@dataclass
class ReaperHandle:
    """The toolkit's open connection to its run's reaper: closing it (or dying) starts the countdown."""

    container_name: str
    address: tuple[str, int]
    sock: socket.socket

    def close(self) -> None:
        self.sock.close()


def start_reaper(client: docker.DockerClient, run_id: str, network: str, image: str, name: str,
                 grace_s: float = 2.0, timeout: float = 30.0) -> ReaperHandle:
    """Start the run's reaper on `network` and connect to it; returns once it acknowledged."""
    volumes, environment = _socket_mount()
    container = client.containers.run(
        image, ["python", "-m", "cachechaos.docker.reaper", "--run", run_id, "--port", str(PORT), "--grace", str(grace_s)],
        name=name, detach=True, auto_remove=True, network=network, volumes=volumes, environment=environment,
        labels=labels.run_labels(run_id, **{labels.ROLE: "reaper"}),
    )
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            container.reload()
            ip = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
            sock = socket.create_connection((ip, PORT), timeout=2)
            if sock.recv(len(ACK)) == ACK:
                sock.settimeout(None)
                return ReaperHandle(name, (ip, PORT), sock)
            sock.close()
        except (OSError, KeyError, docker.errors.NotFound) as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"the reaper {name} did not answer within {timeout:.0f}s (last error: {last})")


if __name__ == "__main__":
    main()
