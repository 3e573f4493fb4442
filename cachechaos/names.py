"""Names of nodes and links: built here and parsed here, nowhere else.

A node is one server (`redis-1`, `sentinel-2`, `postgres`, `backend-1`). A link is
the proxy in front of a node; faults act on links. Links come in three shapes:

    <node>                  the node's shared link: every client of the node goes through it
    <node>.<client>         one client's own link to the node (`redis-1.backend-2`), so a
                            fault can cut one backend off (a partition) and not the others
    pubsub.<node>           the backends' invalidation subscribers' link to a Redis node

A runtime (local processes, containers, a compose project) builds its names with these
functions, and faults, the sampler and the probe read them back with `parse_link`.
"""

from __future__ import annotations

from typing import NamedTuple

REDIS = "redis"
SENTINEL = "sentinel"
BACKEND = "backend"
POSTGRES = "postgres"
PROXY = "toxiproxy"
PUBSUB = "pubsub"


def numbered(kind: str, index: int) -> str:
    """The `index`-th (from 1) node of a kind: `redis-1`, `sentinel-3`, `backend-2`."""
    return f"{kind}-{index}"


def redis_node(index: int) -> str:
    return numbered(REDIS, index)


def sentinel_node(index: int) -> str:
    return numbered(SENTINEL, index)


def backend_node(index: int) -> str:
    return numbered(BACKEND, index)


# The primary a local topology starts with (Sentinel may promote another).
FIRST_PRIMARY = redis_node(1)


def kind_of(node: str) -> str:
    """`redis-2` -> `redis`; a node without a number is its own kind (`postgres`)."""
    kind, sep, index = node.rpartition("-")
    return kind if sep and index.isdigit() else node


def link_for(node: str, client: str | None = None) -> str:
    """The link in front of `node`: its shared one, or `client`'s own."""
    return node if client is None else f"{node}.{client}"


def pubsub_link(node: str) -> str:
    return f"{PUBSUB}.{node}"


class LinkName(NamedTuple):
    node: str
    client: str | None  # None: the node's shared link
    pubsub: bool = False


def parse_link(link: str) -> LinkName:
    """The inverse of `link_for` and `pubsub_link`."""
    head, sep, tail = link.partition(".")
    if not sep:
        return LinkName(link, None)
    if head == PUBSUB:
        return LinkName(tail, None, pubsub=True)
    return LinkName(head, tail)


def backend_urls(urls: list[str]) -> dict[str, str]:
    """Backends named in order (`backend-1`, ...), base URLs without a trailing slash."""
    return {backend_node(i): url.rstrip("/") for i, url in enumerate(urls, start=1)}
