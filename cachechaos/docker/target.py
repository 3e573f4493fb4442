"""The `docker` runtime: the default topology with every node in its own container.

Same nodes and the same addressing rule as the local runtime: clients reach every node through the
fault proxy, Redis and the Sentinels announce proxied addresses. The network is the run's own
bridge with fixed addresses (see network.py), so the host, the proxy and the backends all use the
same address for a node, and a killed, restarted or disconnected container comes back where it was.

Besides the Target protocol it offers the container faults: kill and start, pause and unpause,
disconnect from and reconnect to the run's network. Every resource carries the run's labels;
`down` removes them, and the run's reaper does so when the toolkit dies without a `down`.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import docker
import docker.errors
import httpx
import redis

from cachechaos.docker import container_ops, launcher
from cachechaos.docker import images as image_catalog
from cachechaos.docker.engine import connect
from cachechaos.docker.launcher import ContainerPlan
from cachechaos.docker.network import RunNetwork, create_network
from cachechaos.docker.reaper import ReaperHandle, start_reaper
from cachechaos.docker.sweep import sweep
from cachechaos.errors import EnvironmentFailure
from cachechaos.names import POSTGRES, backend_node, link_for, pubsub_link, redis_node, sentinel_node
from cachechaos.proxy.client import ToxiproxyClient
from cachechaos.runtime import postgres as pg
from cachechaos.runtime.backend import backend_config
from cachechaos.runtime.endpoints import Catalog, Endpoints, Link
from cachechaos.runtime.health import Probe, probe, unhealthy
from cachechaos.runtime.local import proxied_endpoints
from cachechaos.runtime.ports import split_address
from cachechaos.runtime.process import wait_until
from cachechaos.runtime.redis import RedisNode, SentinelNode
from cachechaos.runtime.redis_admin import RedisNodesAdmin
from cachechaos.runtime.target import NotControllable
from cachechaos.runtime.topology import DockerTopologySpec

Progress = Callable[[str], None]
LINK_PORTS = 20000  # the proxy's links listen on its address from this port up

# Fixed host numbers in the run's subnet (.1 is the gateway on the host).
_REAPER_IP, _PROXY_IP, _FIRST_NODE_IP = 2, 3, 10


class DockerTopologyError(EnvironmentFailure):
    """The containers could not be brought up (exit code 3)."""


class DockerNode:
    """One node's container and the protocol call that says it answers."""

    def __init__(self, plan: ContainerPlan, container: docker.models.containers.Container, log_path: Path,
                 ready: Callable[[], bool]) -> None:
        self.plan = plan
        self.container = container
        self.log_path = log_path
        self._ready = ready

    @property
    def name(self) -> str:
        return self.plan.node

    @property
    def kind(self) -> str:
        return self.plan.kind

    @property
    def address(self) -> str:
        return f"{self.plan.ip}:{self.plan.port}"

    def status(self) -> str:
        self.container.reload()
        return str(self.container.status)

    def pid(self) -> int | None:
        self.container.reload()
        return int(self.container.attrs["State"]["Pid"]) or None

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Poll the node's protocol call; fail at once when the container has exited."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        checks = 0
        while time.monotonic() < deadline:
            try:
                if self._ready():
                    return
            except Exception as exc:
                last = exc
            checks += 1
            if checks % 10 == 0 and self.status() in ("exited", "dead"):
                raise DockerTopologyError(f"{self.name} exited while starting:\n{self.log_tail()}")
            time.sleep(0.05)
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {self.name} to answer (last error: {last})")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return bytes(self.container.logs(tail=lines)).decode(errors="replace")
        except docker.errors.APIError:
            return ""

    def save_log(self) -> None:
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self.log_path.write_bytes(self.container.logs())
        except (docker.errors.APIError, OSError):
            pass


class DockerTopology:
    """A topology in containers. Use as a context manager or call up()/down()."""

    def __init__(self, spec: DockerTopologySpec, run_dir: Path, progress: Progress | None = None,
                 run_id: str | None = None) -> None:
        self.spec = spec
        self.run_dir = Path(run_dir).resolve()
        self.progress: Progress = progress or (lambda _msg: None)
        self.run_id = run_id or f"{time.strftime('%H%M%S')}-{os.getpid()}-{secrets.token_hex(2)}"
        self.nodes: dict[str, DockerNode] = {}
        self.images: image_catalog.ImageSet | None = None
        self.healthy_after: float | None = None
        self._client: docker.DockerClient | None = None
        self._network: RunNetwork | None = None
        self._reaper: ReaperHandle | None = None
        self._endpoints: Endpoints | None = None
        self._links: dict[str, tuple[int, str]] = {}  # link name -> (listen port on the proxy, upstream)
        self._views: dict[str, RedisNode | SentinelNode] = {}  # protocol clients of Redis nodes and Sentinels
        self._link_ports = iter(range(LINK_PORTS, LINK_PORTS + 10_000))  # the next listen port on the proxy
        self._host_numbers = iter(range(_FIRST_NODE_IP, 250))  # the next node address in the subnet

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> DockerTopology:
        self.up()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.down()

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = connect()
        return self._client

    @property
    def network(self) -> RunNetwork:
        if self._network is None:
            raise RuntimeError("the topology is not up")
        return self._network

    def container_name(self, node: str) -> str:
        return f"cachechaos-{self.run_id}-{node}"

    def up(self, timeout: float = 90.0) -> Endpoints:
        """Start every container and return once every node answers through its proxy."""
        started = time.monotonic()
        try:
            self.images = self._resolve_images()
            self._network = create_network(self.client, f"cachechaos-{self.run_id}", self.run_id)
            # The reaper first: from here on, nothing outlives the toolkit.
            self._reaper = start_reaper(self.client, self.run_id, self.network.name, self.images.toolkit,
                                        self.container_name("reaper"), grace_s=self.spec.docker.reaper_grace_s)
            self.progress(f"network {self.network.name} ({self.network.subnet}), reaper {self._reaper.container_name}")
            self._start(started + timeout)
        except BaseException:
            self.down()
            raise
        self.healthy_after = time.monotonic() - started
        return self.endpoints

    def down(self) -> None:
        """Save every container's log under the run directory, then remove the run's resources."""
        for node in self.nodes.values():
            node.save_log()
        if self._client is not None:
            done = sweep(self._client, self.run_id)
            if done.errors:
                self.progress("teardown errors: " + "; ".join(done.errors))
        if self._reaper is not None:
            self._reaper.close()
            self._reaper = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def close(self) -> None:
        """The Target protocol's end of use: the containers are removed."""
        self.down()

    # -- building ------------------------------------------------------------------------------------

    def _resolve_images(self) -> image_catalog.ImageSet:
        wanted = self.spec.images
        sources: list[image_catalog.Flavour] = ["official", "offline"] if wanted.source == "auto" else [wanted.source]
        found = next((s for s in (image_catalog.ready(self.client, f, self.progress) for f in sources) if s is not None), None)
        toolkit = wanted.toolkit or (found.toolkit if found else None)
        if toolkit is None:
            hint = "--offline " if wanted.source == "offline" else ""
            raise image_catalog.ImageMissing(
                f"the engine lacks the images of a docker topology ({wanted.source}); run `cachechaos images build {hint}`"
                "(`--offline` without a registry)")
        base = found or image_catalog.ImageSet("offline", toolkit, toolkit, toolkit, toolkit)
        chosen = image_catalog.ImageSet(
            base.flavour, wanted.redis or base.redis, wanted.postgres or base.postgres,
            toolkit if self.spec.proxy.binary == "builtin" else (wanted.proxy or base.toxiproxy), toolkit)
        missing = [ref for ref in {chosen.redis, chosen.postgres, chosen.toxiproxy, chosen.toolkit}
                   if not image_catalog.has_image(self.client, ref)]
        if missing:
            raise image_catalog.ImageMissing(f"the engine has no image {', '.join(sorted(missing))}; "
                                             "run `cachechaos images build` or pull it")
        return chosen

    def _plans(self) -> list[ContainerPlan]:
        """Every node but the backends, with the links the proxy must carry to them."""
        spec, net, images = self.spec, self.network, self.images
        assert images is not None
        proxy_ip = net.address(_PROXY_IP)
        ips, ports = self._host_numbers, self._link_ports

        def link(name: str, ip: str, port: int) -> tuple[str, int]:
            listen = next(ports)
            self._links[name] = (listen, f"{ip}:{port}")
            return (proxy_ip, listen)

        builtin = images.toxiproxy == images.toolkit
        plans = [launcher.proxy_plan("toxiproxy", images.toxiproxy, proxy_ip, builtin, spec.proxy.compat)]
        announced: dict[str, tuple[str, int]] = {}
        for i in range(1, 2 + spec.redis.replicas):
            name, ip = redis_node(i), net.address(next(ips))
            announced[name] = link(name, ip, launcher.REDIS_PORT)
            plans.append(launcher.redis_plan(name, images.redis, ip, spec.redis, announced[name],
                                             None if i == 1 else announced["redis-1"]))
        for i in range(1, spec.redis.sentinels + 1):
            name, ip = sentinel_node(i), net.address(next(ips))
            plans.append(launcher.sentinel_plan(name, images.redis, ip, spec.redis,
                                                link(name, ip, launcher.SENTINEL_PORT), announced["redis-1"]))
        ip = net.address(next(ips))
        link("postgres", ip, launcher.POSTGRES_PORT)
        plans.append(launcher.postgres_plan("postgres", images.postgres, ip, spec.postgres))
        return plans

    def _node(self, plan: ContainerPlan) -> DockerNode:
        container = launcher.create(self.client, plan, self.network, self.run_id, self.container_name(plan.node))
        node_dir = self.run_dir / "nodes" / plan.node
        log = node_dir / f"{plan.node}.log"
        host, port, settings = plan.ip, plan.port, self.spec.redis
        ready: Callable[[], bool]
        if plan.kind == "redis":
            view: RedisNode | SentinelNode = RedisNode(plan.node, host, port, node_dir, "redis-server", settings, ("", 0), None)
            self._views[plan.node] = view
            ready = view.ready
        elif plan.kind == "sentinel":
            view = SentinelNode(plan.node, host, port, node_dir, "redis-server", settings, ("", 0), ("", 0))
            self._views[plan.node] = view
            ready = view.ready
        elif plan.kind == "postgres":
            ready = lambda: _postgres_answers(host, port)  # noqa: E731
        elif plan.kind == "load-worker":
            ready = lambda: True  # noqa: E731 - ready once it joins the master, which waits for it
        elif plan.kind == "toxiproxy":
            ready = lambda: bool(ToxiproxyClient(f"http://{host}:{port}", timeout=1.0).version())  # noqa: E731
        else:
            ready = lambda: httpx.get(f"http://{host}:{port}/health", timeout=1.0).status_code == 200  # noqa: E731
        node = DockerNode(plan, container, log, ready)
        self.nodes[plan.node] = node
        return node

    def _start_all(self, plans: Iterable[ContainerPlan]) -> list[DockerNode]:
        """Create and start containers in parallel: each is a few engine calls that mostly wait."""
        plans = list(plans)
        with ThreadPoolExecutor(max_workers=min(8, max(1, len(plans)))) as pool:
            created = list(pool.map(self._node, plans))
            list(pool.map(lambda n: n.container.start(), created))
        return created

    def _start(self, deadline: float) -> None:
        def left() -> float:
            return max(0.1, deadline - time.monotonic())

        plans = self._plans()
        proxy = self._start_all(plans[:1])[0]
        proxy.wait_ready(left())
        with self.proxy_client() as client:
            client.populate([{"name": name, "listen": f"{proxy.plan.ip}:{port}", "upstream": upstream, "enabled": True}
                             for name, (port, upstream) in self._links.items()])
        self.progress(f"fault proxy ready at {self.proxy_api} ({len(self._links)} links)")
        servers = [p for p in plans[1:] if p.kind != "sentinel"]
        self._start_all(servers)
        redis_nodes = [self.nodes[p.node] for p in servers if p.kind == "redis"]
        for node in redis_nodes:
            node.wait_ready(left())
        for node in redis_nodes[1:]:
            view = self._views[node.name]
            assert isinstance(view, RedisNode)
            wait_until(view.replication_up, left(), f"{node.name} to sync with the primary")
        # Sentinels start once the replicas are attached (the local runtime's reason: their first
        # INFO of the primary lists them).
        sentinels = self._start_all(p for p in plans if p.kind == "sentinel")
        postgres = self.nodes["postgres"]
        postgres.wait_ready(left())
        pg.create_database(postgres.plan.ip, postgres.plan.port, self.spec.postgres)
        self.progress(f"PostgreSQL ready, {self.spec.postgres.products:,} products seeded")
        for sentinel in sentinels:
            view = self._views[sentinel.name]
            assert isinstance(view, SentinelNode)
            wait_until(lambda v=view: v.knows_topology(self.spec.redis.replicas, len(sentinels)),  # type: ignore[misc]
                  left(), f"{sentinel.name} to see the primary, replicas and peers")
        self.progress("Redis primary, replicas and Sentinels ready")
        self._endpoints = self._build_endpoints(proxy.plan.ip)
        self.verify()
        self._start_backends(proxy.plan.ip, left)

    def _start_backends(self, proxy_ip: str, left: Callable[[], float]) -> None:
        settings, images = self.spec.backends, self.images
        assert images is not None
        if not settings.instances:
            return
        redis_nodes = [n for n in self.nodes.values() if n.kind == "redis"]
        added: dict[str, tuple[int, str]] = {pubsub_link(n.name): (next(self._link_ports), n.address) for n in redis_nodes}
        if settings.own_links:
            chained = f"{proxy_ip}:{self._links['postgres'][0]}"
            for i in range(1, settings.instances + 1):
                for n in [*redis_nodes, *(n for n in self.nodes.values() if n.kind == "sentinel")]:
                    added[link_for(n.name, backend_node(i))] = (next(self._link_ports), n.address)
                added[link_for(POSTGRES, backend_node(i))] = (next(self._link_ports), chained)
        with self.proxy_client() as client:
            client.populate([{"name": name, "listen": f"{proxy_ip}:{port}", "upstream": upstream, "enabled": True}
                             for name, (port, upstream) in added.items()])
        self._links.update(added)
        self.endpoints.links.update({name: Link(name, f"{proxy_ip}:{port}", up) for name, (port, up) in added.items()})
        plans = []
        for i in range(1, settings.instances + 1):
            name = backend_node(i)
            config = backend_config(name, self.endpoints, settings.config)
            plans.append(launcher.backend_plan(name, images.toolkit, self.network.address(next(self._host_numbers)),
                                               json.dumps(config, indent=2)))
        backends = self._start_all(plans)
        for node in backends:
            node.wait_ready(left())
        self.endpoints.backends = {node.name: f"http://{node.address}" for node in backends}
        self.progress(f"{len(backends)} backend instance(s) ready ({settings.config.get('strategy', 'default')} strategy)")

    def start_load_workers(self, count: int, master_port: int) -> list[str]:
        """Start `count` containers `load-worker-<i>` on the run's network from the toolkit's image, each
        joining the load master listening on the host (the network's gateway) at `master_port`."""
        assert self.images is not None
        master = f"{self.network.address(1)}:{master_port}"
        plans = [launcher.load_worker_plan(f"load-worker-{i}", self.images.toolkit,
                                           self.network.address(next(self._host_numbers)), master, f"load-{i}")
                 for i in range(count)]
        started = self._start_all(plans)
        self.progress(f"{count} load worker container(s) joining the master at {master}")
        return [node.name for node in started]

    def _build_endpoints(self, proxy_ip: str) -> Endpoints:
        return proxied_endpoints(proxy_ip, self._links, self.spec.redis.master_name,
                                 [n.name for n in self.nodes.values() if n.kind == "redis"],
                                 [n.name for n in self.nodes.values() if n.kind == "sentinel"], self.proxy_api)

    def verify(self) -> list[Probe]:
        """Real protocol calls through every proxy; raises naming what failed."""
        probes = probe(self.endpoints)
        if failed := unhealthy(probes):
            raise DockerTopologyError(failed)
        return probes

    # -- access --------------------------------------------------------------------------------------

    @property
    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            raise RuntimeError("the topology is not up")
        return self._endpoints

    @property
    def proxy_api(self) -> str:
        return f"http://{self.network.address(_PROXY_IP)}:{launcher.PROXY_PORT}"

    def node(self, name: str) -> DockerNode:
        try:
            return self.nodes[name]
        except KeyError:
            raise KeyError(f"no node {name!r}; nodes: {', '.join(self.nodes)}") from None

    def proxy_client(self) -> ToxiproxyClient:
        return ToxiproxyClient(self.proxy_api)

    def redis_nodes_admin(self) -> RedisNodesAdmin:
        """Admin over the containers' own addresses (not their links); the Sentinels name a node by its
        proxied address (`endpoints.redis`)."""
        password = self.spec.redis.password  # one password for the nodes and the Sentinels
        views = self._views.values()
        return RedisNodesAdmin({v.name: v.address for v in views if isinstance(v, RedisNode)},
                               [v.address for v in views if isinstance(v, SentinelNode)], self.endpoints.master_name,
                               announced=self.endpoints.redis, password=password, sentinel_password=password)

    def redis_admin(self, node: str) -> redis.Redis:
        if not isinstance(self._views.get(node), RedisNode):
            raise NotControllable(f"{node} is not a Redis node")
        return self.redis_nodes_admin().client(node)

    def redis_names(self) -> list[str]:
        return [n.name for n in self.nodes.values() if n.kind == "redis"]

    def primary_name(self) -> str | None:
        """The node Sentinel names as primary (mapped back from its proxied address)."""
        return self.redis_nodes_admin().primary_name()

    def postgres_admin_dsn(self) -> str:
        return pg.PostgresNode.dsn_for(*split_address(self.node("postgres").address))

    def catalog(self) -> Catalog:
        pg = self.spec.postgres
        return Catalog(products=pg.products, categories=pg.categories, users=pg.users)

    def destructive_allowed(self, node: str) -> bool:
        # Every container of the run was started by the toolkit.
        return node in self.nodes

    # -- container faults ------------------------------------------------------------------------------

    def kill_node(self, node: str) -> None:
        """SIGKILL the container's processes: the container stops, its files stay."""
        self.node(node).container.kill()

    def start_node(self, node: str) -> None:
        target = self.node(node)
        target.container.start()
        target.wait_ready()

    def restart_node(self, node: str, timeout_s: int = 5) -> None:
        """Stop (SIGTERM, SIGKILL after `timeout_s`) and start again: a supervisor restarting a crashed server."""
        target = self.node(node)
        target.container.restart(timeout=timeout_s)
        target.wait_ready()

    def pause_node(self, node: str) -> None:
        """Freeze every process of the container (cgroup freezer): sockets stay open, nothing answers."""
        self.node(node).container.pause()

    def resume_node(self, node: str) -> None:
        container_ops.resume(self.node(node).container)

    def disconnect_node(self, node: str) -> None:
        """Cut the container off the run's network: packets to and from it go nowhere."""
        container_ops.disconnect(self.client, self.node(node).container, self.network.name)

    def reconnect_node(self, node: str) -> None:
        target = self.node(node)
        container_ops.reconnect(self.client, target.container, self.network.name, [target.name], target.plan.ip)

    def restart_backends(self) -> None:
        """Restart every backend container: the L1 caches are gone (a deploy)."""
        backends = [n for n in self.nodes.values() if n.kind == "backend"]
        with ThreadPoolExecutor(max_workers=max(1, len(backends))) as pool:
            list(pool.map(lambda n: n.container.restart(timeout=5), backends))
        for node in backends:
            node.wait_ready()

    def reseed(self) -> None:
        """Back to the seeded state: PostgreSQL reloaded, Redis flushed."""
        postgres = self.node("postgres")
        pg.seed(postgres.plan.ip, postgres.plan.port, self.spec.postgres)
        with self.redis_admin(self.primary_name() or "redis-1") as r:
            r.flushall()

    def describe(self) -> dict[str, Any]:
        """Everything `up --json` and the state file need."""
        images = self.images
        return {
            "runtime": "docker",
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "network": {"name": self.network.name, "subnet": str(self.network.subnet)},
            "endpoints": self.endpoints.to_dict(),
            "nodes": {
                name: {"kind": n.kind, "address": n.address, "pid": n.pid(), "log": str(n.log_path),
                       "container": self.container_name(name), "image": n.plan.image}
                for name, n in self.nodes.items()
            },
            "images": images.__dict__ if images else None,
            "healthy_after_s": round(self.healthy_after, 3) if self.healthy_after is not None else None,
        }


def _postgres_answers(host: str, port: int) -> bool:
    with pg.connect(host, port, "postgres") as conn:
        return conn.execute("SELECT 1").fetchone() == (1,)

