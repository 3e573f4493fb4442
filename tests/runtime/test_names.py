"""Node and link names: what a runtime builds, faults and the probe read back."""

from __future__ import annotations

from cachechaos.names import (
    LinkName,
    backend_node,
    backend_urls,
    kind_of,
    link_for,
    parse_link,
    pubsub_link,
    redis_node,
    sentinel_node,
)


def test_links_parse_back_to_what_built_them() -> None:
    for node in (redis_node(1), sentinel_node(3), "postgres"):
        assert parse_link(link_for(node)) == LinkName(node, None)
        assert parse_link(link_for(node, backend_node(2))) == LinkName(node, "backend-2")
        assert parse_link(pubsub_link(node)) == LinkName(node, None, pubsub=True)
    assert link_for("redis-1", "backend-2") == "redis-1.backend-2"
    assert pubsub_link("redis-2") == "pubsub.redis-2"


def test_kinds_and_backend_names() -> None:
    assert [kind_of(n) for n in ("redis-12", "sentinel-1", "postgres", "backend-3", "toxiproxy")] == [
        "redis", "sentinel", "postgres", "backend", "toxiproxy"]
    assert backend_urls(["http://a:1/", "http://b:2"]) == {"backend-1": "http://a:1", "backend-2": "http://b:2"}
