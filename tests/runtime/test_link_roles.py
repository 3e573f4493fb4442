"""Link roles: the sample topology's link names as roles, and a topology's roles as its proxies,
node by node (cachechaos.runtime.link_roles). Pure logic over proxy listings as Toxiproxy gives them."""

from __future__ import annotations

import pytest

from cachechaos.runtime import link_roles
from cachechaos.runtime.endpoints import Link

# The compose example's proxies (targets/compose/config/toxiproxy.json), named its way.
PROXIES = {name: Link(name, f"0.0.0.0:{port}", upstream) for name, port, upstream in [
    ("redis-1", 20001, "redis-1:6379"), ("redis-2", 20002, "redis-2:6379"),
    ("redis-1.backend-1", 20111, "redis-1:6379"), ("redis-2.backend-1", 20112, "redis-2:6379"),
    ("redis-1.backend-2", 20121, "redis-1:6379"), ("redis-2.backend-2", 20122, "redis-2:6379"),
    ("sentinel-1.backend-1", 20211, "sentinel-1:26379"), ("sentinel-2.backend-1", 20212, "sentinel-2:26379"),
    ("sentinel-1.backend-2", 20221, "sentinel-1:26379"), ("sentinel-2.backend-2", 20222, "sentinel-2:26379"),
]}
ROLES = {"redis": "redis-?", "redis.backend-1": "redis-?.backend-1", "redis.backend-2": "redis-?.backend-2",
         "sentinel.backend-1": "sentinel-?.backend-1", "sentinel.backend-2": "sentinel-?.backend-2"}


@pytest.mark.parametrize(("link", "role"), [
    ("postgres", "database"), ("postgres.backend-2", "database.backend-2"), ("redis-1", "redis"),
    ("redis-*", "redis"), ("redis-?", "redis"), ("redis-2.backend-1", "redis.backend-1"), ("sentinel-3", "sentinel"),
    ("sentinel-1.backend-2", "sentinel.backend-2"), ("pubsub.redis-1", "invalidation"), ("pubsub.*", "invalidation"),
    ("backend-1", None), ("toxiproxy", None)])
def test_role_of_a_sample_link(link: str, role: str | None) -> None:
    assert link_roles.role_of(link) == role


@pytest.mark.parametrize("role", ["database", "redis.backend-12", "sentinel", "sentinel.backend-1", "invalidation"])
def test_known_roles_pass(role: str) -> None:
    link_roles.check_role(role)


@pytest.mark.parametrize("role", ["cache", "redis.backend", "redis.replica", "invalidation.backend-1", "sentinel.b-1"])
def test_unknown_roles_are_refused(role: str) -> None:
    with pytest.raises(ValueError, match="unknown role"):
        link_roles.check_role(role)


def test_a_role_for_every_backend_is_declared_only_when_each_backend_has_it() -> None:
    assert link_roles.declared("redis.backend-*", ROLES, ["backend-1", "backend-2"])
    assert not link_roles.declared("redis.backend-*", ROLES, ["backend-1", "backend-2", "backend-3"])
    assert not link_roles.declared("redis.backend-*", ROLES, [])
    assert link_roles.declared("redis", ROLES, []) and not link_roles.declared("sentinel", ROLES, [])


def test_a_glob_role_names_one_proxy_per_node_and_the_node_is_read_from_the_upstream() -> None:
    assert link_roles.proxies("redis.backend-2", ROLES, PROXIES) == ["redis-1.backend-2", "redis-2.backend-2"]
    assert link_roles.proxies("redis", ROLES, PROXIES) == ["redis-1", "redis-2"]
    assert link_roles.proxies("database", ROLES, PROXIES) == []
    assert link_roles.proxies_of_node("redis.backend-2", "redis-2", ROLES, PROXIES) == ["redis-2.backend-2"]
    # Proxies named the user's way: the upstream says which node, or the node's address does.
    theirs = {"cache-a": Link("cache-a", "0.0.0.0:1", "10.0.0.5:6379"), "cache-b": Link("cache-b", "0.0.0.0:2", "10.0.0.6:6379")}
    assert link_roles.proxies_of_node("redis", "primary-node", {"redis": "cache-?"}, theirs, "10.0.0.6:6379") == ["cache-b"]


def test_a_partition_cuts_the_nodes_shared_path_the_majoritys_own_paths_and_the_minoritys_sentinels() -> None:
    cut, missing = link_roles.partition_cut("redis-1", None, ["backend-1"], ["backend-2"], ROLES, PROXIES)
    assert missing == []
    assert cut == ["redis-1", "redis-1.backend-1", "sentinel-1.backend-2", "sentinel-2.backend-2"]
    # backend-2 keeps its own path to the old primary (it writes on there), backend-1 its Sentinels.
    assert "redis-1.backend-2" not in cut and not any(c.startswith("sentinel-") and c.endswith("backend-1") for c in cut)
    _, missing = link_roles.partition_cut("redis-1", None, ["backend-1"], ["backend-3"], ROLES, PROXIES)
    assert missing == ["sentinel.backend-3"]
