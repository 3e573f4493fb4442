"""The `kind: docker` topology file: the local topology's nodes, each in a container (`targets/docker.yaml`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cachechaos.runtime.topology import TopologySpec, _Strict


class ImageSettings(_Strict):
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


class DockerSettings(_Strict):
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
        return self
