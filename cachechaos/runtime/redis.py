"""Redis (or Valkey) primary, replicas and Sentinels.

Addresses handed out must be the proxied ones: each node announces its
proxy's port (`replica-announce-*`), Sentinels monitor the primary through its
proxy and announce their own proxies, so a client that follows Sentinel after
a failover still goes through a proxy. A node has one announced address, so
clients, Sentinels and replication to that node all share its proxy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import redis

from cachechaos.runtime.node import Node
from cachechaos.runtime.private_dirs import private_dir
from cachechaos.runtime.topology import RedisSettings

_BASE_CONFIG = """\
bind {host}
port {port}
protected-mode no
daemonize no
dir {dir}
logfile ""
save ""
appendonly no
# Diskless full sync with no delay: a fresh replica is in sync in milliseconds.
repl-diskless-sync yes
repl-diskless-sync-delay 0
replica-announce-ip {announce_host}
replica-announce-port {announce_port}
min-replicas-to-write {min_replicas_to_write}
min-replicas-max-lag {min_replicas_max_lag}
"""


_PRIVATE_PREFIX = "cachechaos-redis-"


def redis_config(settings: RedisSettings, bind: str, port: int, data_dir: str, announce: tuple[str, int],
                 replica_of: tuple[str, int] | None) -> str:
    """A Redis node's config file: it announces its proxy, and follows `replica_of` (a proxied address)."""
    s = settings
    text = _BASE_CONFIG.format(
        host=bind,
        port=port,
        dir=data_dir,
        announce_host=announce[0],
        announce_port=announce[1],
        min_replicas_to_write=s.min_replicas_to_write,
        min_replicas_max_lag=s.min_replicas_max_lag,
    )
    if s.maxmemory:
        text += f"maxmemory {s.maxmemory}\n"
    if s.maxmemory_policy:
        text += f"maxmemory-policy {s.maxmemory_policy}\n"
    if replica_of:
        text += f"replicaof {replica_of[0]} {replica_of[1]}\n"
    if s.password:  # clients give it; a replica gives it to its primary
        text += f"requirepass {s.password}\nmasterauth {s.password}\n"
    return text


def sentinel_config(settings: RedisSettings, bind: str, port: int, data_dir: str, announce: tuple[str, int],
                    primary: tuple[str, int]) -> str:
    """A Sentinel's config file: it monitors the primary through its proxy and announces its own."""
    s, m = settings, settings.master_name
    return (
        f"bind {bind}\nport {port}\nprotected-mode no\ndaemonize no\n"
        f"dir {data_dir}\nlogfile \"\"\n"
        f"sentinel announce-ip {announce[0]}\n"
        f"sentinel announce-port {announce[1]}\n"
        f"sentinel monitor {m} {primary[0]} {primary[1]} {s.quorum}\n"
        f"sentinel down-after-milliseconds {m} {s.down_after_ms}\n"
        f"sentinel failover-timeout {m} {s.failover_timeout_ms}\n"
        f"sentinel parallel-syncs {m} 1\n"
        # One password for the nodes and the Sentinels: asked of clients, given to the nodes and peers.
        + (f"requirepass {s.password}\nsentinel auth-pass {m} {s.password}\n" if s.password else "")
    )


def _client(host: str, port: int, timeout: float = 1.0, password: str | None = None) -> redis.Redis:
    return redis.Redis(host=host, port=port, password=password, socket_timeout=timeout, socket_connect_timeout=timeout)


class _ConfiguredNode(Node):
    """A redis-server process in some mode, driven by a config file it may rewrite itself."""

    config_name = "redis.conf"

    def __init__(self, name: str, host: str, port: int, node_dir: Path, binary: str, settings: RedisSettings,
                 announce: tuple[str, int]) -> None:
        super().__init__(name, host, port, node_dir)
        self.binary = binary
        self.settings = settings
        self.announce = announce
        # Redis and Sentinel rewrite their config files, requirepass included: with a password the file
        # lives in a private directory, never in the run directory.
        self.private_dir = private_dir(_PRIVATE_PREFIX) if settings.password else None
        self.config_path = (self.private_dir or self.dir) / self.config_name

    def write_config(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        # Written once: Sentinel rewrites replicaof into a node's file and its own state into
        # sentinel.conf, and a restarted process must come back with what Sentinel decided.
        if not self.config_path.exists():
            self.write_config()
        super().start()

    def client(self, timeout: float = 1.0) -> redis.Redis:
        return _client(self.host, self.port, timeout, self.settings.password)

    def remove_private_dir(self) -> None:
        if self.private_dir is not None:
            shutil.rmtree(self.private_dir, ignore_errors=True)


class RedisNode(_ConfiguredNode):
    kind = "redis"

    def __init__(self, name: str, host: str, port: int, node_dir: Path, binary: str, settings: RedisSettings,
                 announce: tuple[str, int], replica_of: tuple[str, int] | None) -> None:
        super().__init__(name, host, port, node_dir, binary, settings, announce)
        self.replica_of = replica_of

    def write_config(self) -> None:
        self.config_path.write_text(redis_config(self.settings, self.host, self.port, str(self.dir), self.announce, self.replica_of))

    def argv(self) -> list[str]:
        return [self.binary, str(self.config_path)]

    def ready(self) -> bool:
        with self.client() as r:
            return bool(r.ping())

    def info(self, section: str = "replication") -> dict[str, object]:
        with self.client() as r:
            return dict(r.info(section))

    def replication_up(self) -> bool:
        info = self.info()
        return info.get("role") == "slave" and info.get("master_link_status") == "up"


class SentinelNode(_ConfiguredNode):
    kind = "sentinel"
    config_name = "sentinel.conf"

    def __init__(self, name: str, host: str, port: int, node_dir: Path, binary: str, settings: RedisSettings,
                 announce: tuple[str, int], primary: tuple[str, int]) -> None:
        super().__init__(name, host, port, node_dir, binary, settings, announce)
        self.primary = primary

    def write_config(self) -> None:
        self.config_path.write_text(sentinel_config(self.settings, self.host, self.port, str(self.dir), self.announce, self.primary))

    def argv(self) -> list[str]:
        # Both redis-server and valkey-server run Sentinel mode from the same binary.
        return [self.binary, str(self.config_path), "--sentinel"]

    def master_addr(self) -> tuple[str, int] | None:
        with self.client() as r:
            addr = r.execute_command("SENTINEL", "get-master-addr-by-name", self.settings.master_name)
        if not addr:
            return None
        host, port = addr
        return (as_text(host), int(port))

    def ready(self) -> bool:
        return self.master_addr() is not None

    def master_state(self) -> dict[str, str]:
        with self.client() as r:
            raw = r.execute_command("SENTINEL", "master", self.settings.master_name)
        if isinstance(raw, dict):
            return {as_text(k): as_text(v) for k, v in raw.items()}
        return {as_text(raw[i]): as_text(raw[i + 1]) for i in range(0, len(raw), 2)}

    def knows_topology(self, replicas: int, sentinels: int) -> bool:
        """The Sentinel sees every replica and every peer, so a failover can be authorised."""
        state = self.master_state()
        return (
            int(state.get("num-slaves", 0)) >= replicas
            and int(state.get("num-other-sentinels", 0)) >= sentinels - 1
        )


def as_text(value: object) -> str:
    """A reply field as text (redis-py returns bytes unless asked to decode)."""
    return value.decode() if isinstance(value, bytes) else str(value)
