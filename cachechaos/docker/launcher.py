"""How each node runs in a container: image, command, files, user, address.

The node definitions are the local runtime's: the same Redis and Sentinel config files, the same
PostgreSQL settings and initdb options, the same backend configuration; only where they run
differs. Files are copied into the container before it starts (no bind mounts: the engine may be
remote, and Sentinel must be able to rewrite its file, which then survives a restart).
"""

from __future__ import annotations

import io
import tarfile
import time
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors

from cachechaos.docker import labels
from cachechaos.docker.network import RunNetwork
from cachechaos.runtime.postgres import INITDB_OPTIONS, server_settings
from cachechaos.runtime.redis import redis_config, sentinel_config
from cachechaos.runtime.topology import PostgresSettings, RedisSettings

FILES_DIR = "/cachechaos"  # a node's config files and data, inside its container
REDIS_PORT, SENTINEL_PORT, POSTGRES_PORT, PROXY_PORT, BACKEND_PORT = 6379, 26379, 5432, 8474, 8080


@dataclass
class ContainerPlan:
    """One node's container, before it exists.

    The entrypoint is always set for the toolkit's own commands: an official image's entrypoint
    script would otherwise run them as another user (the redis image drops to `redis`, who could
    not rewrite the Sentinel file the toolkit copied in).
    """

    node: str
    kind: str
    image: str
    command: list[str]
    ip: str
    port: int
    entrypoint: list[str] | None = None
    user: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # name under FILES_DIR -> text


def redis_plan(node: str, image: str, ip: str, settings: RedisSettings, announce: tuple[str, int],
               replica_of: tuple[str, int] | None) -> ContainerPlan:
    text = redis_config(settings, "0.0.0.0", REDIS_PORT, FILES_DIR, announce, replica_of)
    return ContainerPlan(node, "redis", image, [f"{FILES_DIR}/redis.conf"], ip, REDIS_PORT,
                         entrypoint=["redis-server"], files={"redis.conf": text})


def sentinel_plan(node: str, image: str, ip: str, settings: RedisSettings, announce: tuple[str, int],
                  primary: tuple[str, int]) -> ContainerPlan:
    text = sentinel_config(settings, "0.0.0.0", SENTINEL_PORT, FILES_DIR, announce, primary)
    return ContainerPlan(node, "sentinel", image, [f"{FILES_DIR}/sentinel.conf", "--sentinel"], ip,
                         SENTINEL_PORT, entrypoint=["redis-server"], files={"sentinel.conf": text})


def postgres_plan(node: str, image: str, ip: str, settings: PostgresSettings) -> ContainerPlan:
    data = f"{FILES_DIR}/pgdata"
    # Debian and the official image both keep the binaries in /usr/lib/postgresql/<major>/bin.
    # initdb only on the first start: a killed and restarted container keeps its cluster.
    script = (
        "set -e\n"
        "bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)\n"
        f"if [ ! -s {data}/PG_VERSION ]; then\n"
        f"  \"$bindir/initdb\" -D {data} {' '.join(INITDB_OPTIONS)} >/dev/null\n"
        # initdb trusts loopback only; the host and the proxy come from the run's network.
        f"  echo 'host all all 0.0.0.0/0 trust' >> {data}/pg_hba.conf\n"
        "fi\n"
        f"exec \"$bindir/postgres\" -D {data} -h 0.0.0.0 -p {POSTGRES_PORT} {' '.join(server_settings(settings))}\n"
    )
    return ContainerPlan(node, "postgres", image, [f"{FILES_DIR}/start-postgres.sh"], ip, POSTGRES_PORT,
                         entrypoint=["sh"], user="postgres", files={"start-postgres.sh": script})


def proxy_plan(node: str, image: str, ip: str, builtin: bool, compat: str | None) -> ContainerPlan:
    if builtin:
        command = ["-m", "cachechaos.proxy", "--listen", f"0.0.0.0:{PROXY_PORT}"]
        return ContainerPlan(node, "toxiproxy", image, [*command, "--compat", compat] if compat else command, ip, PROXY_PORT,
                             entrypoint=["python"])
    # Shopify's image: its entrypoint is /toxiproxy.
    return ContainerPlan(node, "toxiproxy", image, ["-host=0.0.0.0", f"-port={PROXY_PORT}"], ip, PROXY_PORT)


def backend_plan(node: str, image: str, ip: str, config_json: str) -> ContainerPlan:
    return ContainerPlan(node, "backend", image,
                         ["-m", "cachechaos.backend", "serve", "--config", f"{FILES_DIR}/backend.json",
                          "--host", "0.0.0.0", "--port", str(BACKEND_PORT)], ip, BACKEND_PORT,
                         entrypoint=["python"], files={"backend.json": config_json})


def load_worker_plan(node: str, image: str, ip: str, master: str, process: str) -> ContainerPlan:
    """A load worker (`cachechaos load-worker`) joining the run's master, recording as `process`."""
    return ContainerPlan(node, "load-worker", image,
                         ["-m", "cachechaos", "load-worker", "--master", master, "--name", process], ip, 0,
                         entrypoint=["python"])


def _archive(files: dict[str, str]) -> bytes:
    """A tar of FILES_DIR with `files`; the directory is writable by any user (PostgreSQL runs as its own)."""
    buffer = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(FILES_DIR.strip("/"))
        folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o777, now
        tar.addfile(folder)
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{FILES_DIR.strip('/')}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, now
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def create(client: docker.DockerClient, plan: ContainerPlan, network: RunNetwork, run_id: str,
           container_name: str) -> docker.models.containers.Container:
    """Create the node's container at its fixed address on the run's network, with its files in place."""
    endpoint = client.api.create_endpoint_config(ipv4_address=plan.ip, aliases=[plan.node])
    kwargs: dict[str, Any] = {}
    if plan.entrypoint is not None:
        kwargs["entrypoint"] = plan.entrypoint
    if plan.user is not None:
        kwargs["user"] = plan.user
    container = client.containers.create(
        plan.image, plan.command, name=container_name, hostname=plan.node, detach=True,
        labels=labels.run_labels(run_id, **{labels.NODE: plan.node, labels.ROLE: "node"}),
        network=network.name, networking_config={network.name: endpoint}, **kwargs,
    )
    container.put_archive("/", _archive(plan.files))
    return container
