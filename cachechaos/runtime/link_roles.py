"""Link roles: the sample topology's link names read as roles, and roles read as a topology's proxies.

The packaged rows name the sample topology's links (`postgres`, `redis-1.backend-2`, `pubsub.*`,
cachechaos.names). A service cachechaos attaches to names its Toxiproxy proxies its own way and
says, per role, which proxy sits where (`toxiproxy.links`):

    database          the path to PostgreSQL            database.backend-N   backend-N's own path
    redis             the path to the Redis nodes that   redis.backend-N      backend-N's own paths to
                      no backend owns (the Sentinels'                         the Redis nodes
                      and the replicas' when each
                      backend has its own)
    sentinel          the path to the Sentinels          sentinel.backend-N   backend-N's own paths to them
    invalidation      the path of the invalidation channel

A role names one proxy or a glob (`redis-?.backend-1`): a role over several nodes names one proxy
per node, and `proxies_of_node` picks the one in front of a given node by its upstream.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping

from cachechaos.names import REDIS, SENTINEL, kind_of, parse_link
from cachechaos.runtime.endpoints import Link
from cachechaos.runtime.ports import split_address

ROLES = ("database", "redis", "sentinel", "invalidation")
_KINDS = {"postgres": "database", REDIS: "redis", SENTINEL: "sentinel"}
_PER_BACKEND = re.compile(r"backend-\d+")

# The roles a partition acts on: every backend's own paths to the Redis nodes and to the Sentinels,
# and the path the Sentinels and replicas reach a node by. `*` stands for every backend.
PARTITION_ROLES = ("redis", "redis.backend-*", "sentinel.backend-*")


def role_of(link: str) -> str | None:
    """The role of one of the sample topology's links: `postgres` -> database, `redis-1.backend-2` ->
    redis.backend-2, `sentinel-1` -> sentinel, `pubsub.*` -> invalidation; None for other nodes'."""
    parsed = parse_link(link)
    if parsed.pubsub:
        return "invalidation"
    role = _KINDS.get(kind_of(parsed.node.rstrip("*-?") or parsed.node))
    if role is None:
        return None
    return f"{role}.{parsed.client}" if parsed.client else role


def check_role(role: str) -> None:
    """ValueError unless `role` is a known role, optionally per backend."""
    base, _, backend = role.partition(".")
    if base not in ROLES or (base == "invalidation" and backend) or (backend and not _PER_BACKEND.fullmatch(backend)):
        raise ValueError(f"links: unknown role {role!r}; roles: {', '.join(ROLES)}, each but invalidation optionally "
                         "per backend (database.backend-1, redis.backend-1, sentinel.backend-1)")


def for_backend(role: str, backend: str) -> str:
    """`redis.backend-*` for one backend: `redis.backend-2`."""
    return role.replace("backend-*", backend)


def declared(role: str, roles: Iterable[str], backends: Iterable[str]) -> bool:
    """Whether a role (`*` for every backend) is declared, for every backend it stands for."""
    names = set(roles)
    if "backend-*" not in role:
        return role in names
    wanted = [for_backend(role, b) for b in backends]
    return bool(wanted) and all(r in names for r in wanted)


def proxies(role: str, roles: Mapping[str, str], known: Iterable[str]) -> list[str]:
    """The proxies a declared role names among the `known` ones (its glob expanded)."""
    pattern = roles.get(role)
    if pattern is None:
        return []
    return sorted(name for name in known if fnmatch.fnmatchcase(name, pattern))


def in_front_of(link: Link, node: str, address: str | None = None) -> bool:
    """Whether the proxy leads to `node`: its upstream is the node's host (a compose service's name) or
    address, or the proxy is named after the node as cachechaos names links."""
    host = split_address(link.upstream)[0] if ":" in link.upstream else link.upstream
    return host == node or (address is not None and link.upstream == address) or parse_link(link.name).node == node


def proxies_of_node(role: str, node: str, roles: Mapping[str, str], links: Mapping[str, Link],
                    address: str | None = None) -> list[str]:
    """The proxies of a role that lead to one node (a role over several nodes names one proxy each)."""
    named = proxies(role, roles, links)
    return [name for name in named if in_front_of(links[name], node, address)]


def partition_cut(node: str, address: str | None, majority: list[str], minority: list[str],
                  roles: Mapping[str, str], links: Mapping[str, Link]) -> tuple[list[str], list[str]]:
    """The proxies a partition of `node` cuts on a topology that declares its roles, and the roles it
    found no proxy for: the node's shared path (the Sentinels and replicas lose it), each majority
    backend's own path to the node, and every minority backend's own paths to the Sentinels."""
    cut: list[str] = []
    missing: list[str] = []

    def add(role: str, found: list[str]) -> None:
        if found:
            cut.extend(f for f in found if f not in cut)
        else:
            missing.append(role)

    add("redis", proxies_of_node("redis", node, roles, links, address))
    for backend in majority:
        add(f"redis.{backend}", proxies_of_node(f"redis.{backend}", node, roles, links, address))
    for backend in minority:
        add(f"sentinel.{backend}", proxies(f"sentinel.{backend}", roles, links))
    return cut, missing
