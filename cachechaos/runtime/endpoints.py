"""What a running topology offers its clients: every address is a proxied one."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Catalog:
    """How many rows the target was seeded with: ids 1..products, categories 1..categories, users 1..users."""

    products: int
    categories: int = 100
    users: int = 1_000


@dataclass(frozen=True)
class Link:
    """A proxy in front of one node: faults on the link act on every client of that node."""

    name: str
    listen: str
    upstream: str


@dataclass
class Endpoints:
    master_name: str
    sentinels: list[str]
    redis: dict[str, str]
    postgres_dsn: str | None  # None: an external topology that names no PostgreSQL
    proxy_api: str
    links: dict[str, Link] = field(default_factory=dict)
    backends: dict[str, str] = field(default_factory=dict)  # node name (cachechaos.names) -> base URL

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Endpoints:
        links = {name: Link(**link) for name, link in data.get("links", {}).items()}
        return cls(**{**data, "links": links})
