"""The compose topology file (`kind: compose`): the user's own compose project, named by its services.

The toolkit runs nothing here: the user brings the project up with `docker compose`, and the
toolkit finds each service's containers by the labels compose puts on them
(`com.docker.compose.project`, `com.docker.compose.service`). A node is named by its service:
faults name services (`kill` of `redis-1`), and destructive faults act only on services listed in
`chaos_targets`, with --allow-destructive.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, model_validator

from cachechaos.runtime.external_spec import AttachedTopologySpec, ProxyRoles, VersionTables
from cachechaos.yamlmodel import Strict

PROJECT_ENV = "COMPOSE_PROJECT_NAME"  # compose's own variable: it names the project when -p does not
_SERVICE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class ServicePort(Strict):
    service: str = Field(pattern=_SERVICE, description="compose service name")
    port: int = Field(8080, ge=1, le=65535, description="the port the service listens on inside its container")


class ComposeRedis(Strict):
    master_name: str = Field("cachechaos", description="the name the Sentinels monitor the primary under")
    nodes: list[str] = Field(default_factory=list, description="services running a Redis node (INFO, admin faults, primary/replica roles)")
    sentinels: list[str] = Field(default_factory=list, description="services running a Sentinel")
    port: int = Field(6379, ge=1, le=65535, description="Redis port inside the containers")
    sentinel_port: int = Field(26379, ge=1, le=65535, description="Sentinel port inside the containers")
    username: str | None = Field(None, description="ACL user for the nodes (Redis 6+); default: the default user")
    password: str | None = Field(None, description="the nodes' password (requirepass, or the ACL user's); never written "
                                                   "to a run directory")
    sentinel_password: str | None = Field(None, description="the Sentinels' password (their requirepass), if they ask one")


class ComposePostgres(VersionTables):
    service: str = Field("postgres", pattern=_SERVICE, description="service running PostgreSQL")
    port: int = Field(5432, ge=1, le=65535, description="PostgreSQL port inside the container")
    user: str = Field("cachechaos", description="user for sampling pg_stat_database (and SQL final reads)")
    password: str | None = Field(None, description="its password, if the server asks for one")
    database: str = Field("cachechaos", description="database holding the service's rows")


class ComposeToxiproxy(ProxyRoles):
    service: str = Field("toxiproxy", pattern=_SERVICE, description="service running Toxiproxy (or the toolkit's "
                         "compatible proxy); link faults name its proxies")
    port: int = Field(8474, ge=1, le=65535, description="its API port inside the container")


class ComposeTopologySpec(AttachedTopologySpec):
    """A compose project someone brought up: load goes to its backend services, link faults through its
    Toxiproxy service, container faults (kill, pause, restart, disconnect) to the services in chaos_targets."""

    kind: Literal["compose"] = "compose"
    name: str = "compose"
    project: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]*$",
                                description="compose project name (`docker compose -p`); default: derived from `file` as compose does")
    file: str | None = Field(None, description="the compose file, relative to this topology file; names the project "
                                               "when `project` does not")
    backends: list[ServicePort] = Field(min_length=1, description="backend services the load goes to, each with its port")
    redis: ComposeRedis = Field(default_factory=ComposeRedis)  # type: ignore[arg-type]
    postgres: ComposePostgres | None = Field(
        None, description="optional: without it the checks that need PostgreSQL say so")
    toxiproxy: ComposeToxiproxy | None = Field(None, description="the Toxiproxy service; without it link faults are impossible")
    chaos_targets: list[str] = Field(default_factory=list, description="services kill, pause, restart and disconnect may "
                                     "act on (with --allow-destructive); any service of the project, named or not above")
    ready_timeout_s: float = Field(60.0, ge=0, le=600, description="how long attaching waits for every service to answer "
                                                                  "(a stack just brought up with `up -d`)")

    @model_validator(mode="after")
    def _project_named(self) -> ComposeTopologySpec:
        if self.project is None and self.file is None:
            raise ValueError("name the compose project: `project` (as `docker compose -p`) or `file` (the compose file)")
        return self

    def services(self) -> list[str]:
        """Every service the topology names, backends first."""
        named = [b.service for b in self.backends] + self.redis.nodes + self.redis.sentinels
        named += [self.postgres.service] if self.postgres else []
        named += [self.toxiproxy.service] if self.toxiproxy else []
        return list(dict.fromkeys(named))

    def project_name(self) -> str:
        """`project`, else the name compose gives a project of `file`: COMPOSE_PROJECT_NAME, the
        file's top-level `name:`, else its directory's name, lower-cased with what compose drops dropped."""
        if self.project is not None:
            return self.project
        assert self.file is not None
        if os.environ.get(PROJECT_ENV):
            return normalize_project(os.environ[PROJECT_ENV])
        path = Path(self.file)
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            return normalize_project(data["name"])
        return normalize_project(path.resolve().parent.name)


def normalize_project(name: str) -> str:
    """A project name as compose normalizes it: lower case, only [a-z0-9_-], starting with a letter or digit."""
    return re.sub(r"[^a-z0-9_-]", "", name.lower()).lstrip("_-")
