"""The `local` runtime: the whole default topology as child processes of the toolkit.

Redis primary + replicas, Sentinels, PostgreSQL and the fault proxy, each on a
free loopback port with its files under the run directory. Every link a fault
must touch goes through a proxy, and the addresses handed to clients
(`Endpoints`) are the proxied ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import redis

from cachechaos.errors import EnvironmentFailure
from cachechaos.names import (
    BACKEND,
    FIRST_PRIMARY,
    POSTGRES,
    PROXY,
    REDIS,
    SENTINEL,
    backend_node,
    link_for,
    pubsub_link,
    redis_node,
    sentinel_node,
)
from cachechaos.proxy.client import ToxiproxyClient
from cachechaos.runtime.backend import BackendNode, backend_config, secrets_env
from cachechaos.runtime.binaries import Binary, resolve
from cachechaos.runtime.endpoints import Catalog, Endpoints, Link
from cachechaos.runtime.fault_proxy import FaultProxyNode
from cachechaos.runtime.health import Probe, probe, unhealthy
from cachechaos.runtime.launcher import Launcher, LaunchSpec, LocalLauncher
from cachechaos.runtime.node import Node
from cachechaos.runtime.ports import free_port, split_address
from cachechaos.runtime.postgres import PostgresNode
from cachechaos.runtime.process import Running, wait_until
from cachechaos.runtime.redis import RedisNode, SentinelNode
from cachechaos.runtime.redis_admin import RedisNodesAdmin
from cachechaos.runtime.target import NotControllable
from cachechaos.runtime.topology import TopologySpec

HOST = "127.0.0.1"
Progress = Callable[[str], None]


class TopologyError(EnvironmentFailure, RuntimeError):
    """The environment could not be brought up (exit code 3)."""


class LocalTopology:
    """A running (or startable) local topology. Use as a context manager or call up()/down()."""

    def __init__(self, spec: TopologySpec, run_dir: Path, progress: Progress | None = None,
                 launcher: Launcher | None = None) -> None:
        self.spec = spec
        self.launcher: Launcher = launcher or LocalLauncher()
        self.run_dir = Path(run_dir).resolve()
        self.progress: Progress = progress or (lambda _msg: None)
        self.nodes: dict[str, Node] = {}
        self.binaries: dict[str, Binary] = {}
        self._endpoints: Endpoints | None = None
        self._started_at: float | None = None
        self.healthy_after: float | None = None
        self._initdb: Running | None = None

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> LocalTopology:
        self.up()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.down()

    def up(self, timeout: float = 60.0) -> Endpoints:
        """Start everything and return once every node and every proxy answers."""
        self._started_at = time.monotonic()
        try:
            self._resolve_binaries()
            self._create_nodes()
            self._start(timeout)
        except BaseException:
            self.down()
            raise
        self.healthy_after = time.monotonic() - self._started_at
        return self.endpoints

    def down(self) -> None:
        """Stop every node (Sentinels first, so they do not fail over a dying primary)."""
        if self._initdb is not None:
            self._initdb.kill()
        order = [SENTINEL, BACKEND, REDIS, POSTGRES, PROXY]
        for kind in order:
            for node in self.nodes.values():
                if node.kind == kind:
                    node.resume()  # a paused process cannot handle SIGTERM
                    node.stop()
        for node in self.nodes.values():
            if isinstance(node, PostgresNode):
                node.remove_data()
            if isinstance(node, RedisNode | SentinelNode):
                node.remove_private_dir()

    def close(self) -> None:
        """The Target protocol's end of use: a local topology is torn down."""
        self.down()

    # -- building ----------------------------------------------------------------

    def _resolve_binaries(self) -> None:
        spec = self.spec
        self.binaries = {
            "redis": resolve("redis", spec.redis.binary),
            "postgres": resolve("postgres", spec.postgres.bindir),
            "toxiproxy": resolve("toxiproxy", spec.proxy.binary),
        }

    def _create_nodes(self) -> None:
        spec, nodes_dir = self.spec, self.run_dir / "nodes"
        redis_bin = self.binaries["redis"].path
        proxy = FaultProxyNode(PROXY, HOST, free_port(), nodes_dir / PROXY, self.binaries["toxiproxy"],
                               compat=spec.proxy.compat)
        self.nodes[proxy.name] = proxy
        self._links: dict[str, tuple[int, str]] = {}  # proxy name -> (listen port, upstream)

        def link(name: str, upstream_port: int) -> tuple[str, int]:
            port = free_port()
            self._links[name] = (port, f"{HOST}:{upstream_port}")
            return (HOST, port)

        redis_count = 1 + spec.redis.replicas
        announced: dict[str, tuple[str, int]] = {}
        for i in range(1, redis_count + 1):
            name = redis_node(i)
            port = free_port()
            announced[name] = link(name, port)
            self.nodes[name] = RedisNode(
                name, HOST, port, nodes_dir / name, redis_bin, spec.redis,
                announce=announced[name],
                replica_of=None if name == FIRST_PRIMARY else announced[FIRST_PRIMARY],
            )
        for i in range(1, spec.redis.sentinels + 1):
            name = sentinel_node(i)
            port = free_port()
            self.nodes[name] = SentinelNode(
                name, HOST, port, nodes_dir / name, redis_bin, spec.redis,
                announce=link(name, port), primary=announced[FIRST_PRIMARY],
            )
        pg_port = free_port()
        link(POSTGRES, pg_port)
        self.nodes[POSTGRES] = PostgresNode(POSTGRES, HOST, pg_port, nodes_dir / POSTGRES, self.binaries["postgres"].path, spec.postgres)
        self._use_launcher()

    def _use_launcher(self) -> None:
        """Every node runs where this topology's launcher puts it."""
        for node in self.nodes.values():
            node.launcher = self.launcher

    def _start(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(0.1, deadline - time.monotonic())

        pg = self.postgres
        if pg.run_as is not None:
            self.progress(f"running as root: PostgreSQL runs as user '{pg.run_as}' (it refuses root), data in {pg.data_dir.parent}")
        proxy = self.fault_proxy
        proxy.start()
        # initdb runs while the proxy and Redis come up.
        program, *args = pg.initdb_argv()
        initdb = self._initdb = self.launcher.launch(
            LaunchSpec("initdb", "initdb", program, args, pg.dir, pg.dir / "initdb.log", user=pg.run_as))
        initdb.start()
        proxy.wait_ready(left())
        with proxy.client() as client:
            client.populate([
                {"name": name, "listen": f"{HOST}:{port}", "upstream": upstream, "enabled": True}
                for name, (port, upstream) in self._links.items()
            ])
        self.progress(f"fault proxy ready at {proxy.api_url} ({len(self._links)} links)")
        for node in self.redis_nodes:
            node.start()
        wait_until(lambda: not initdb.running, left(), "initdb", interval=0.02)
        pg.forget_password_file()
        if initdb.returncode != 0:
            raise TopologyError(f"initdb failed:\n{initdb.log_tail()}")
        pg.start()
        for node in self.redis_nodes:
            node.wait_ready(left())
        for replica in self.redis_nodes[1:]:
            wait_until(replica.replication_up, left(), f"{replica.name} to sync with the primary")
        # Sentinels start once replicas are attached: their first INFO of the primary
        # then lists the replicas, instead of learning of them 10 s later.
        for sentinel in self.sentinels:
            sentinel.start()
        pg.wait_ready(left())
        pg.create_database()
        self.progress(f"PostgreSQL ready, {self.spec.postgres.products:,} products seeded")
        for sentinel in self.sentinels:
            wait_until(
                lambda s=sentinel: s.knows_topology(self.spec.redis.replicas, len(self.sentinels)),  # type: ignore[misc]
                left(), f"{sentinel.name} to see the primary, replicas and peers", alive=sentinel.process,
            )
        self.progress("Redis primary, replicas and Sentinels ready")
        self._endpoints = self._build_endpoints()
        self.verify()
        self._start_backends(left)

    def _add_backend_links(self) -> None:
        """pub/sub links per Redis node, and (own_links) each backend's private links."""
        settings = self.spec.backends
        if not settings.instances:
            return
        targets: list[Node] = list(self.redis_nodes)
        added: dict[str, tuple[int, str]] = {pubsub_link(n.name): (free_port(), f"{HOST}:{n.port}") for n in self.redis_nodes}
        if settings.own_links:
            targets += self.sentinels
            for i in range(1, settings.instances + 1):
                for node in targets:
                    added[link_for(node.name, backend_node(i))] = (free_port(), f"{HOST}:{node.port}")
                # Chained in front of the shared postgres link: a fault on `postgres` still reaches
                # every backend, one on `postgres.backend-1` only that backend's DB path.
                added[link_for(POSTGRES, backend_node(i))] = (free_port(), f"{HOST}:{self._links[POSTGRES][0]}")
        with self.proxy_client() as client:
            client.populate([{"name": name, "listen": f"{HOST}:{port}", "upstream": upstream, "enabled": True}
                             for name, (port, upstream) in added.items()])
        self._links.update(added)
        self.endpoints.links.update({name: Link(name, f"{HOST}:{port}", upstream) for name, (port, upstream) in added.items()})

    def _start_backends(self, left: Callable[[], float]) -> None:
        settings = self.spec.backends
        self._add_backend_links()
        for i in range(1, settings.instances + 1):
            name = backend_node(i)
            config = backend_config(name, self.endpoints, settings.config)
            self.nodes[name] = BackendNode(name, HOST, free_port(), self.run_dir / "nodes" / name, config,
                                           secrets_env(self.spec.redis.password, self.spec.postgres.password))
        self._use_launcher()
        backends = self.backends
        for node in backends:
            node.start()
        for node in backends:
            node.wait_ready(left())
        self.endpoints.backends = {node.name: node.url for node in backends}
        if backends:
            self.progress(f"{len(backends)} backend instance(s) ready ({settings.config.get('strategy', 'default')} strategy)")

    def _build_endpoints(self) -> Endpoints:
        return proxied_endpoints(HOST, self._links, self.spec.redis.master_name, [n.name for n in self.redis_nodes],
                                 [s.name for s in self.sentinels], self.fault_proxy.api_url)

    # -- checks --------------------------------------------------------------------

    def verify(self) -> list[Probe]:
        """Real protocol calls through every proxy; raises TopologyError naming what failed."""
        probes = probe(self.endpoints, redis_password=self.spec.redis.password, postgres_password=self.spec.postgres.password)
        if failed := unhealthy(probes):
            raise TopologyError(failed)
        seeded = next(p.detail for p in probes if p.target == "postgres")
        if seeded != f"{self.spec.postgres.products} products":
            raise TopologyError(f"PostgreSQL has {seeded}, expected {self.spec.postgres.products}")
        return probes

    # -- access ----------------------------------------------------------------------

    @property
    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            raise RuntimeError("the topology is not up")
        return self._endpoints

    def node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise KeyError(f"no node {name!r}; nodes: {', '.join(self.nodes)}") from None

    @property
    def redis_nodes(self) -> list[RedisNode]:
        return [n for n in self.nodes.values() if isinstance(n, RedisNode)]

    @property
    def backends(self) -> list[BackendNode]:
        return [n for n in self.nodes.values() if isinstance(n, BackendNode)]

    @property
    def sentinels(self) -> list[SentinelNode]:
        return [n for n in self.nodes.values() if isinstance(n, SentinelNode)]

    @property
    def postgres(self) -> PostgresNode:
        node = self.nodes[POSTGRES]
        assert isinstance(node, PostgresNode)
        return node

    @property
    def fault_proxy(self) -> FaultProxyNode:
        node = self.nodes[PROXY]
        assert isinstance(node, FaultProxyNode)
        return node

    def proxy_client(self) -> ToxiproxyClient:
        return self.fault_proxy.client()

    def current_primary(self) -> RedisNode | None:
        """The node Sentinel names as primary (mapped back from its proxied address)."""
        name = self.redis_nodes_admin().primary_name()
        node = self.nodes.get(name) if name is not None else None
        return node if isinstance(node, RedisNode) else None

    def redis_nodes_admin(self) -> RedisNodesAdmin:
        """Admin over the nodes' own addresses (not their links); the Sentinels running now are asked
        which node is primary, and name it by its proxied address (`endpoints.redis`)."""
        password = self.spec.redis.password  # one password for the nodes and the Sentinels
        return RedisNodesAdmin({n.name: n.address for n in self.redis_nodes},
                               [s.address for s in self.sentinels if s.running], self.endpoints.master_name,
                               announced=self.endpoints.redis, password=password, sentinel_password=password)

    # -- the Target protocol and every capability (cachechaos.runtime.target) -------------------

    def catalog(self) -> Catalog:
        pg = self.spec.postgres
        return Catalog(products=pg.products, categories=pg.categories, users=pg.users)

    def redis_admin(self, node: str) -> redis.Redis:
        if not isinstance(self.node(node), RedisNode):
            raise NotControllable(f"{node} is not a Redis node")
        return self.redis_nodes_admin().client(node)

    def redis_names(self) -> list[str]:
        return self.redis_nodes_admin().names()

    def primary_name(self) -> str | None:
        primary = self.current_primary()
        return primary.name if primary else None

    def postgres_admin_dsn(self) -> str:
        return self.postgres.dsn

    def sentinel_password(self) -> str | None:
        return self.spec.redis.password  # one password for the nodes and the Sentinels

    def destructive_allowed(self, node: str) -> bool:
        # Every node of a local topology was started by the toolkit.
        return node in self.nodes

    def kill_node(self, node: str) -> None:
        self.node(node).kill()

    def pause_node(self, node: str) -> None:
        self.node(node).pause()

    def resume_node(self, node: str) -> None:
        self.node(node).resume()

    def start_node(self, node: str) -> None:
        target = self.node(node)
        target.start()
        target.wait_ready()

    def restart_backends(self) -> None:
        """Restart every backend instance: the L1 caches are gone (a deploy)."""
        for node in self.backends:
            node.stop()
        for node in self.backends:
            node.start()
        for node in self.backends:
            node.wait_ready()

    def reseed(self) -> None:
        """Back to the seeded state: PostgreSQL reloaded, Redis flushed."""
        self.postgres.seed()
        primary = self.current_primary() or self.redis_nodes[0]
        with primary.client() as r:
            r.flushall()

    def describe(self) -> dict[str, Any]:
        """Everything `up --json` and the state file need."""
        return {
            "run_dir": str(self.run_dir),
            "endpoints": self.endpoints.to_dict(),
            "nodes": {
                name: {"kind": n.kind, "address": n.address, "pid": n.pid, "log": str(n.log_path)}
                for name, n in self.nodes.items()
            },
            "binaries": {k: {"path": b.path, "version": b.version, "source": b.source} for k, b in self.binaries.items()},
            "healthy_after_s": round(self.healthy_after, 3) if self.healthy_after is not None else None,
        }


def proxied_endpoints(host: str, links: dict[str, tuple[int, str]], master_name: str, redis_names: list[str],
                      sentinel_names: list[str], proxy_api: str) -> Endpoints:
    """What clients use when every node is reached through its proxy listening on `host`
    (link name -> (listen port, upstream)); the local and the docker runtime alike."""
    proxied = {name: Link(name, f"{host}:{port}", upstream) for name, (port, upstream) in links.items()}
    return Endpoints(
        master_name=master_name,
        sentinels=[proxied[name].listen for name in sentinel_names],
        redis={name: proxied[name].listen for name in redis_names},
        postgres_dsn=PostgresNode.dsn_for(*split_address(proxied[POSTGRES].listen)),
        proxy_api=proxy_api,
        links=proxied,
    )
