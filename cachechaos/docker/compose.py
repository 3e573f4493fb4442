"""`kind: compose`: the user's own compose project under chaos.

The project is someone else's: the user brings it up with `docker compose` and takes it down. The
toolkit finds each service's containers by compose's labels and reaches them from this machine at
the ports they publish (`127.0.0.1::6379` in the compose file), or, when a port is not published,
at the container's address on its network (Linux hosts route to those). Everything the attach
mode offers comes from an `ExternalTarget` over those addresses: load to the backend services,
link faults through the project's Toxiproxy service, INFO and admin calls to the Redis services,
PostgreSQL sampled. On top, the container faults act on the services in `chaos_targets`, only with
--allow-destructive; close() undoes whatever the toolkit did to a container (unpause, reconnect,
start what it killed) and leaves the project up.

A container started again gets new ephemeral host ports: the addresses are read again after every
container fault the toolkit undoes, and `endpoints` is updated in place. The backends must keep
theirs (the load generators hold their URLs): publish them at fixed host ports, or a backend
started again is an error naming the moved port.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import fields
from types import TracebackType
from typing import Any
from urllib.parse import quote

import docker
import docker.errors
import httpx
import psycopg
import redis
from docker.models.containers import Container

from cachechaos.docker import container_heal, container_ops
from cachechaos.docker.engine import connect
from cachechaos.errors import EnvironmentFailure
from cachechaos.proxy.client import ToxiproxyClient, ToxiproxyError
from cachechaos.runtime.compose_spec import ComposeTopologySpec
from cachechaos.runtime.endpoints import Catalog, Endpoints
from cachechaos.runtime.external import ExternalTarget
from cachechaos.runtime.external_spec import ExternalPostgres, ExternalRedis, ExternalTopologySpec, ExternalToxiproxy
from cachechaos.runtime.ports import split_address
from cachechaos.runtime.process import wait_until
from cachechaos.runtime.target import NotControllable

Progress = Callable[[str], None]

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONEOFF_LABEL = "com.docker.compose.oneoff"  # `compose run` containers: never a service's own
NUMBER_LABEL = "com.docker.compose.container-number"
_UNREACHABLE = (redis.RedisError, OSError, httpx.HTTPError, psycopg.Error, ToxiproxyError)


class ComposeProjectDown(EnvironmentFailure):
    """The compose project, or a service the topology names, is not up (exit code 3)."""


class ComposeTarget:
    """A compose project's services as a Target: ProxyControl, RedisAdmin, PostgresAdmin through the
    attach mode, and Killable, Pausable, Disconnectable, Restartable on its chaos targets."""

    def __init__(self, spec: ComposeTopologySpec, allow_destructive: bool = False, progress: Progress | None = None,
                 client: docker.DockerClient | None = None) -> None:
        self.spec = spec
        self.allow_destructive = allow_destructive
        self.project = spec.project_name()
        self.progress: Progress = progress or (lambda _msg: None)
        self.client = client or connect()
        self._addresses: dict[tuple[str, int], list[str]] = {}  # (service, port) -> host-side addresses
        # What the toolkit did to the project's containers and close() undoes.
        self._killed: set[str] = set()
        self._paused: set[str] = set()
        self._disconnected: dict[str, list[tuple[Container, str, list[str], str | None]]] = {}
        try:
            self._check_services()
            self._attached = self._attach(spec.ready_timeout_s)
        except BaseException:
            if client is None:
                self.client.close()
            raise
        self._endpoints = self._attached.endpoints

    def __enter__(self) -> ComposeTarget:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- finding the services ---------------------------------------------------------------------

    def containers(self, service: str) -> list[Container]:
        """The service's containers (every replica), in compose's numbering."""
        found = self.client.containers.list(ignore_removed=True, all=True, filters={"label": [
            f"{PROJECT_LABEL}={self.project}", f"{SERVICE_LABEL}={service}", f"{ONEOFF_LABEL}=False"]})
        return sorted(found, key=lambda c: int(c.labels.get(NUMBER_LABEL, "1") or 1))

    def _check_services(self) -> None:
        everything = self.client.containers.list(ignore_removed=True, all=True, filters={"label": [f"{PROJECT_LABEL}={self.project}"]})
        present = sorted({c.labels.get(SERVICE_LABEL, "") for c in everything})
        if not present:
            raise ComposeProjectDown(f"compose project {self.project!r} has no containers: bring it up first "
                                     f"(`docker compose -p {self.project} up -d`), or name its project right (`project:`)")
        missing = [s for s in self.spec.services() if s not in present]
        if missing:
            raise ComposeProjectDown(f"compose project {self.project!r} has no container of service(s) "
                                     f"{', '.join(missing)} (it has {', '.join(present)})")
        unknown = [s for s in self.spec.chaos_targets if s not in present]
        if unknown:
            raise ComposeProjectDown(f"chaos_targets names {', '.join(unknown)}, which compose project {self.project!r} "
                                     f"has no container of (it has {', '.join(present)})")

    def _addresses_of(self, service: str, port: int) -> list[str]:
        """Where this machine reaches the service's containers at `port`; the last known address of a
        container that is not running (a killed one has no published port)."""
        known = self._addresses.get((service, port), [])
        out = []
        for i, container in enumerate(self.containers(service)):
            found = _host_address(container, port)
            out.append(found or (known[i] if i < len(known) else ""))
        if not any(out):
            raise ComposeProjectDown(f"service {service} of compose project {self.project!r} is not running "
                                     f"(no address for port {port})")
        self._addresses[(service, port)] = out
        return out

    def _first(self, service: str, port: int) -> str:
        return self._addresses_of(service, port)[0]

    def _postgres_dsn(self) -> str | None:
        p = self.spec.postgres
        if p is None:
            return None
        secret = f":{quote(p.password, safe='')}" if p.password else ""
        return f"postgresql://{quote(p.user, safe='')}{secret}@{self._first(p.service, p.port)}/{p.database}"

    def _external_spec(self) -> ExternalTopologySpec:
        """The attach-mode topology of the project as it runs now: every service at its host-side address."""
        spec, r = self.spec, self.spec.redis
        backends = [f"http://{address}" for b in spec.backends for address in self._addresses_of(b.service, b.port)]
        dsn = self._postgres_dsn()
        postgres = ExternalPostgres(dsn=dsn, tables=spec.postgres.tables) if spec.postgres and dsn else None
        toxiproxy = None
        if spec.toxiproxy is not None:
            toxiproxy = ExternalToxiproxy(url=f"http://{self._first(spec.toxiproxy.service, spec.toxiproxy.port)}")
        return ExternalTopologySpec(
            name=spec.name, backends=backends, catalog=spec.catalog, cache=spec.cache, final_reads=spec.final_reads,
            chaos_targets=spec.chaos_targets, adapter=spec.adapter, metrics=spec.metrics, postgres=postgres, toxiproxy=toxiproxy,
            redis=ExternalRedis(master_name=r.master_name, sentinels=[self._first(s, r.sentinel_port) for s in r.sentinels],
                                nodes={n: self._first(n, r.port) for n in r.nodes}, username=r.username,
                                password=r.password, sentinel_password=r.sentinel_password))

    def _attach(self, timeout: float) -> ExternalTarget:
        """The attach-mode target once every named service answers (a project just brought up with
        `up -d` may still be starting)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                failed = [s for s in self.spec.services() if not self.answers(s)]
                attached = ExternalTarget(self._external_spec(), self.allow_destructive)
            except (ComposeProjectDown, *_UNREACHABLE) as exc:
                failed = [str(exc)]
            if not failed:
                self.progress(f"attached to compose project {self.project} ({len(attached.endpoints.backends)} "
                              f"backend(s), {len(attached.endpoints.links)} proxies)")
                return attached
            if time.monotonic() >= deadline:
                raise ComposeProjectDown(f"compose project {self.project!r} did not answer within {timeout:g} s: "
                                         f"{', '.join(failed)} not answering")
            time.sleep(0.5)

    def answers(self, service: str) -> bool:
        """One real protocol call to each of the service's containers, by what the topology says it runs
        (any HTTP answer from a backend: a service's own API need not have /health); other services: running."""
        spec, r = self.spec, self.spec.redis
        if not all(c.status == "running" for c in self.containers(service)):
            return False
        try:
            if service in r.nodes or service in r.sentinels:
                node = service in r.nodes
                port = r.port if node else r.sentinel_port
                username, password = (r.username, r.password) if node else (None, r.sentinel_password)
                for address in self._addresses_of(service, port):
                    host, number = split_address(address)
                    with redis.Redis(host=host, port=number, socket_timeout=1, socket_connect_timeout=1,
                                     username=username, password=password) as client:
                        client.ping()
            if spec.toxiproxy is not None and service == spec.toxiproxy.service:
                with ToxiproxyClient(f"http://{self._first(service, spec.toxiproxy.port)}", timeout=1.0) as proxy:
                    proxy.version()
            if spec.postgres is not None and service == spec.postgres.service:
                with psycopg.connect(self._postgres_dsn() or "", connect_timeout=1) as conn:
                    conn.execute("SELECT 1")
            for backend in (b for b in spec.backends if b.service == service):
                for address in self._addresses_of(service, backend.port):
                    httpx.get(f"http://{address}/health", timeout=1.0)
        except (ComposeProjectDown, *_UNREACHABLE):
            return False
        return True

    def refresh(self) -> Endpoints:
        """Read every service's address again (a container started again has new host ports); `endpoints`
        is the same object, updated."""
        self._attached = ExternalTarget(self._external_spec(), self.allow_destructive)
        for f in fields(Endpoints):
            setattr(self._endpoints, f.name, getattr(self._attached.endpoints, f.name))
        return self._endpoints

    # -- the Target protocol and attach mode's capabilities, through the ExternalTarget ---------------

    @property
    def endpoints(self) -> Endpoints:
        return self._endpoints

    def catalog(self) -> Catalog:
        return self._attached.catalog()

    def proxy_client(self) -> ToxiproxyClient:
        return self._attached.proxy_client()

    def redis_admin(self, node: str) -> redis.Redis:
        return self._attached.redis_admin(node)

    def redis_names(self) -> list[str]:
        return self._attached.redis_names()

    def postgres_admin_dsn(self) -> str | None:
        return self._attached.postgres_admin_dsn()

    def primary_name(self) -> str | None:
        """The Redis service Sentinel names as primary. Sentinel names it as the project's clients reach
        it, usually through the Toxiproxy service (`toxiproxy:20001`): that proxy's upstream names the service."""
        addr = self._attached.admin.primary_address()
        return None if addr is None else self._node_at(addr)

    def _node_at(self, address: str) -> str | None:
        host, port = split_address(address)
        nodes = self.spec.redis.nodes
        if host in nodes:
            return host
        for link in self._endpoints.links.values():
            upstream_host = split_address(link.upstream)[0]
            if split_address(link.listen)[1] == port and upstream_host in nodes:
                return upstream_host
        for node in nodes:  # a container address on the project's network
            for container in self.containers(node):
                if any(net.get("IPAddress") == host for net in container_ops.attachments(container).values()):
                    return node
        return next((n for n, a in self._endpoints.redis.items() if a == address), None)

    def destructive_allowed(self, node: str) -> bool:
        return self.allow_destructive and node in self.spec.chaos_targets

    def describe(self) -> dict[str, Any]:
        """The endpoints and the project's containers; nothing here is the toolkit's to tear down."""
        return {"runtime": "compose", "project": self.project, "endpoints": self.endpoints.to_dict(),
                "services": {s: [c.name for c in self.containers(s)] for s in self.spec.services()}, "binaries": None}

    # -- container faults, on chaos targets only ----------------------------------------------------

    def _chaos_containers(self, node: str) -> list[Container]:
        if not self.destructive_allowed(node):
            why = "--allow-destructive was not given" if not self.allow_destructive else "it is not in chaos_targets"
            raise NotControllable(f"service {node} of compose project {self.project!r} may not be touched: {why}")
        found = self.containers(node)
        if not found:
            raise NotControllable(f"compose project {self.project!r} has no container of service {node}")
        return found

    def _on_each(self, node: str, act: Callable[[Container], object]) -> None:
        for container in self._chaos_containers(node):
            act(container)

    def kill_node(self, node: str) -> None:
        """SIGKILL the service's containers: they stop, their files stay."""
        self._on_each(node, lambda c: c.kill())
        self._killed.add(node)

    def start_node(self, node: str) -> None:
        self._on_each(node, container_ops.start_stopped)
        self._killed.discard(node)
        self._wait_answers(node)

    def restart_node(self, node: str, timeout_s: int = 5) -> None:
        """Stop (SIGTERM, SIGKILL after `timeout_s`) and start again: a supervisor restarting the service."""
        self._on_each(node, lambda c: c.restart(timeout=timeout_s))
        self._wait_answers(node)

    def pause_node(self, node: str) -> None:
        """Freeze every process of the service's containers: sockets stay open, nothing answers."""
        self._on_each(node, lambda c: c.pause())
        self._paused.add(node)

    def resume_node(self, node: str) -> None:
        self._on_each(node, container_ops.resume)
        self._paused.discard(node)

    def disconnect_node(self, node: str) -> None:
        """Cut the service's containers off every network they are on: packets to and from them go nowhere."""
        cut = self._disconnected.setdefault(node, [])
        for container in self._chaos_containers(node):
            for network, aliases, fixed in container_ops.network_attachments(container):
                # Recorded first: a SIGINT inside the engine call, once the engine has cut it, must not leave a
                # cut nobody reconnects (reconnecting a container still on its network does nothing).
                cut.append((container, network, aliases, fixed))
                container_ops.disconnect(self.client, container, network)

    def reconnect_node(self, node: str) -> None:
        # Forgotten only once every cut is undone: a heal stopped halfway is finished by the next one.
        for container, network, aliases, fixed in self._disconnected.get(node, []):
            container_ops.reconnect(self.client, container, network, aliases, fixed)
        self._disconnected.pop(node, None)
        self._wait_answers(node)

    def heal_steps(self, change: str, node: str) -> list[dict[str, Any]]:
        """How to undo `change` (kill, pause, disconnect) of the service's containers once the toolkit is gone:
        the project outlives it (cachechaos.docker.container_heal). Read before the change: the networks to
        put a container back on are the ones it is on now."""
        containers = self._chaos_containers(node)
        if change == "kill":
            return [container_heal.start_step(node, c) for c in containers]
        if change == "pause":
            return [container_heal.unpause_step(node, c) for c in containers]
        if change == "disconnect":
            return [container_heal.reconnect_step(node, c, network, aliases, fixed)
                    for c in containers for network, aliases, fixed in container_ops.network_attachments(c)]
        raise ValueError(f"no heal steps for {change!r}")

    def restart_backends(self) -> None:
        """Restart every backend service's containers (a deploy: every L1 cold); each must be a chaos target."""
        services = [b.service for b in self.spec.backends]
        containers = [c for s in services for c in self._chaos_containers(s)]
        for container in containers:
            container.restart(timeout=5)
        for service in services:
            self._wait_answers(service)

    def _wait_answers(self, node: str, timeout: float = 30.0) -> None:
        """Wait until a service the toolkit started, restarted or reconnected answers again, then read
        every address again (its host ports are new)."""
        wait_until(lambda: self.answers(node), timeout, f"service {node} of compose project {self.project!r} to answer")
        before = dict(self._endpoints.backends)
        after = self.refresh().backends
        moved = [f"{name} from {url} to {after[name]}" for name, url in before.items() if after.get(name) != url]
        if moved:
            # The load generators hold the backends' URLs: their requests would go to the old port from now on.
            raise ComposeProjectDown(f"the host port of {', '.join(moved)} changed when service {node} started again, "
                                     "and the load still goes to the old one: publish the backends at fixed host ports "
                                     "(`127.0.0.1:18081:8080`, as targets/compose/docker-compose.yml does)")

    def close(self) -> None:
        """Undo what the toolkit did to the project's containers; the project itself stays up.

        (The fault scheduler heals every fault before; this is the net under a heal that failed.)"""
        undo = [(self.reconnect_node, sorted(self._disconnected)), (self.resume_node, sorted(self._paused)),
                (self.start_node, sorted(self._killed))]
        for action, nodes in undo:
            for node in nodes:
                try:
                    action(node)
                    self.progress(f"{node}: put back ({action.__name__})")
                except (docker.errors.APIError, TimeoutError, RuntimeError, *_UNREACHABLE) as exc:
                    self.progress(f"{node} of compose project {self.project!r} could not be put back: {exc}")
        self.client.close()


def _host_address(container: Container, port: int) -> str | None:
    """`host:port` where this machine reaches `port` of a running container: its published port (on
    loopback when published on every address), else its address on its first network."""
    container.reload()
    if container.status != "running":
        return None
    published = (container.attrs["NetworkSettings"].get("Ports") or {}).get(f"{port}/tcp") or []
    for binding in sorted(published, key=lambda b: ":" in b.get("HostIp", "")):  # IPv4 first
        host = binding.get("HostIp") or "0.0.0.0"
        host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
        return f"{host}:{binding['HostPort']}"
    for network in (container.attrs["NetworkSettings"].get("Networks") or {}).values():
        if network.get("IPAddress"):
            return f"{network['IPAddress']}:{port}"
    return None
