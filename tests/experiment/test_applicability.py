"""Applicability: the packaged rows' declarations matched against target instances, and a row bound
to an attached topology by role (links, service levels, rate). Pure: topologies are parsed
files, the probe's findings are written down as a probe of such a target records them."""

from __future__ import annotations

from typing import Any

import pytest

from cachechaos.applicability import Offer, ProbeSeen, link_role, offer_of
from cachechaos.checklist import EXPERIMENTS_DIR
from cachechaos.experiment.binding import FRESHNESS_MARGIN_S, bind_row, row_applicability
from cachechaos.experiment.model import ExperimentSpec, load_experiment, load_suite
from cachechaos.runtime.compose_spec import ComposeTopologySpec
from cachechaos.runtime.external_spec import ExternalTopologySpec
from cachechaos.runtime.topology import TopologySpec


def _rows() -> dict[str, ExperimentSpec]:
    suite = load_suite(EXPERIMENTS_DIR / "checklist.yaml")
    specs = [load_experiment(EXPERIMENTS_DIR / e.path) for e in suite.experiments]
    return {s.name: s for s in specs}


ROWS = _rows()
SHOP = ExternalTopologySpec.model_validate({"name": "shop", "backends": ["http://127.0.0.1:1"], "cache": {"freshness_budget_s": 1}})


def _external(**extra: Any) -> ExternalTopologySpec:
    return ExternalTopologySpec.model_validate({"name": "svc", "backends": ["http://127.0.0.1:1"], **extra})


def _applicable(offer: Offer) -> set[str]:
    return {name for name, spec in ROWS.items() if row_applicability(spec, offer).applicable}


def test_every_row_applies_to_the_sample_backend_cachechaos_runs() -> None:
    offer = offer_of(TopologySpec())
    assert offer.everything
    for spec in ROWS.values():
        found = row_applicability(spec, offer)
        assert found.applicable and not found.left_out, spec.name


def test_a_plain_http_service_runs_the_freshness_and_load_rows_and_says_what_the_rest_need() -> None:
    offer = offer_of(SHOP, ProbeSeen(reads=True, versions=True))
    assert _applicable(offer) == {"freshness-budget", "load-slo"}
    load = row_applicability(ROWS["load-slo"], offer)
    assert load.dropped_criteria == ["cart p99 < 50 ms"]
    assert set(load.dropped_actions) == {"checkout", "cart_read", "cart_write"}
    delay = row_applicability(ROWS["invalidation-delay"], offer)
    assert delay.missing == ["needs a Toxiproxy proxy on your service's path to its invalidation channel: "
                             "toxiproxy.links.invalidation: <proxy name>"]
    stampede = row_applicability(ROWS["stampede"], offer)
    assert any("toxiproxy.links.database: <proxy name>" in m for m in stampede.missing)
    assert any("chaos_targets" in m for m in stampede.missing)
    race = row_applicability(ROWS["cache-aside-race"], offer)
    assert race.missing == ["needs a Toxiproxy proxy on your service's path to PostgreSQL from backend-1: "
                            "toxiproxy.links.database.backend-1: <proxy name>"]


def test_applicability_is_per_instance_a_role_counts_only_when_its_proxy_answers() -> None:
    declared = _external(toxiproxy={"url": "http://127.0.0.1:2", "links": {"invalidation": "pubsub-proxy"}})
    # Without a probe the topology's word is taken; the probe narrows it to the proxies that exist.
    assert "invalidation-delay" in _applicable(offer_of(declared))
    assert "invalidation-delay" not in _applicable(offer_of(declared, ProbeSeen(reads=True, proxies=["other"])))
    assert "invalidation-delay" in _applicable(offer_of(declared, ProbeSeen(reads=True, proxies=["pubsub-proxy"])))
    # A Redis node is admin-able only when it is a chaos target, and (probed) answered.
    redis = {"nodes": {"cache-1": "127.0.0.1:3"}}
    assert "flushall-recovery" not in _applicable(offer_of(_external(redis=redis)))
    targeted = _external(redis=redis, chaos_targets=["cache-1"])
    assert "flushall-recovery" in _applicable(offer_of(targeted))
    assert "flushall-recovery" not in _applicable(offer_of(targeted, ProbeSeen(reads=True)))
    # The layer signal: an X-Cache header seen by the probe opens the hot-key row.
    assert "hot-key" in _applicable(offer_of(SHOP, ProbeSeen(reads=True, x_cache=True)))


def test_container_rows_need_compose_services_in_chaos_targets() -> None:
    base = {"project": "shop", "backends": [{"service": "api"}], "redis": {"nodes": ["redis"], "sentinels": ["sentinel"]}}
    plain = offer_of(ComposeTopologySpec.model_validate(base))
    assert not row_applicability(ROWS["primary-killed"], plain).applicable
    chaos = offer_of(ComposeTopologySpec.model_validate({**base, "chaos_targets": ["redis", "api"]}))
    assert {"redis_processes", "backend_processes", "redis_admin", "primary_target", "sentinel"} <= chaos.has
    external = offer_of(_external(redis={"nodes": {"redis": "127.0.0.1:3"}}, chaos_targets=["redis"]))
    assert "redis_processes" not in external.has  # cachechaos cannot kill what it reaches only by address


@pytest.mark.parametrize(("link", "role"), [("postgres", "database"), ("postgres.backend-1", "database.backend-1"),
                                            ("pubsub.*", "invalidation"), ("redis-1", "redis"), ("redis-*", "redis"),
                                            ("sentinel-1", "sentinel"), ("redis-2.backend-1", "redis.backend-1"),
                                            ("sentinel-3.backend-2", "sentinel.backend-2"), ("backend-1", None)])
def test_link_roles_of_the_sample_topology(link: str, role: str | None) -> None:
    assert link_role(link) == role


def test_a_bound_row_takes_links_bounds_and_rate_from_the_topology() -> None:
    topology = _external(toxiproxy={"url": "http://127.0.0.1:2", "links": {"invalidation": "events"}},
                         slo={"stale_reads": 0.02}, load={"rate_per_s": 25})
    spec = ROWS["invalidation-delay"]
    bound = bind_row(spec, topology, row_applicability(spec, offer_of(topology)))
    fault = bound.phases[1].faults[0]
    assert fault.model_dump()["link"] == "events"
    assert bound.traffic.shape.model_dump()["rate_per_s"] == 25
    assert not bound.variants and not bound.target.overrides and not bound.backend
    (criterion,) = bound.criteria
    assert criterion.max == 0.02 and "slo.stale_reads <= 0.02" in criterion.label
    assert bound.detection is not None and bound.detection.criterion == criterion.label
    assert criterion.params["window_s"] == 1  # the mechanism's window is the row's, not the budget


def test_a_row_may_have_its_own_rate_and_a_hot_key_criterion_is_judged_over_every_layer() -> None:
    topology = _external(toxiproxy={"url": "http://127.0.0.1:2", "links": {"invalidation": "events"}},
                         redis={"nodes": {"cache-1": "127.0.0.1:3"}}, chaos_targets=["cache-1"], offers=["x_cache"],
                         load={"rate_per_s": 25, "rows": {"eviction-policy": 150}})
    spec = ROWS["eviction-policy"]
    bound = bind_row(spec, topology, row_applicability(spec, offer_of(topology)))
    assert bound.traffic.shape.model_dump()["rate_per_s"] == 150
    other = ROWS["invalidation-delay"]
    assert bind_row(other, topology, row_applicability(other, offer_of(topology))).traffic.shape.model_dump()["rate_per_s"] == 25
    hot = next(c for c in bound.criteria if c.params.get("hot_keys"))
    assert hot.params["layer"] == "any" and hot.label.endswith("[layer=any]")
    assert bound.detection is not None and bound.detection.criterion == hot.label
    # The service's overall hit rate too, with its bound from slo:; the sample backend's own row keeps L2.
    overall = next(c for c in bound.criteria if not c.params.get("hot_keys"))
    assert overall.params["layer"] == "any" and overall.min == 0.8
    assert overall.label.endswith("[layer=any] [slo.hit_rate >= 0.8]")
    assert {c.params["layer"] for c in spec.criteria} == {"l2"}
    with pytest.raises(ValueError, match="greater than 0"):
        _external(load={"rows": {"stampede": 0}})


def test_the_freshness_row_measures_at_the_budget_for_as_long_as_it_needs() -> None:
    spec = ROWS["freshness-budget"]
    for budget, expected in ((1.0, 1.0), (None, 60.0)):
        topology = _external(cache={"freshness_budget_s": budget} if budget else {}, slo={"p99_ms": 250})
        bound = bind_row(spec, topology, row_applicability(spec, offer_of(topology)))
        stale = next(c for c in bound.criteria if c.check == "stale_read_rate")
        assert stale.params["window_s"] == expected and stale.max == 0.01
        assert bound.phases[-1].duration_s == expected + FRESHNESS_MARGIN_S
        assert next(c for c in bound.criteria if c.check == "latency").max == 250


def test_a_bound_row_leaves_out_what_the_target_lacks() -> None:
    offer = offer_of(SHOP, ProbeSeen(reads=True, versions=True))
    spec = ROWS["load-slo"]
    bound = bind_row(spec, SHOP, row_applicability(spec, offer))
    assert [c.params.get("route") for c in bound.criteria if c.check == "latency"] == ["catalog"]
    mix = bound.traffic.mix
    assert mix.cart_read == mix.cart_write == mix.checkout == 0 and mix.browse > 0


def test_stampede_binds_to_the_database_link_and_the_services_own_redis_keys() -> None:
    topology = _external(toxiproxy={"url": "http://127.0.0.1:2", "links": {"database": "pg"}},
                         redis={"nodes": {"cache": "127.0.0.1:3"}}, chaos_targets=["cache"],
                         cache={"key_template": "item:{key}"})
    seen = ProbeSeen(reads=True, versions=True, redis_ok=["cache"], proxies=["pg"], metrics={"db_queries_total": 3.0})
    spec = ROWS["stampede"]
    found = row_applicability(spec, offer_of(topology, seen))
    assert found.applicable, found.missing
    faults = [f.model_dump() for p in bind_row(spec, topology, found).phases for f in p.faults]
    assert {f["link"] for f in faults if f["type"] == "latency"} == {"pg"}
    assert next(f for f in faults if f["type"] == "expire_keys")["keys"] == [f"item:{i}" for i in range(1, 6)]
    # The amplification's baseline is at least one query per expired key and backend (5 keys, 1 backend).
    assert bind_row(spec, topology, found).criteria[0].params["floor_qps"] == 5.0
    without = _external(**{k: v for k, v in topology.model_dump().items() if k in ("toxiproxy", "redis", "chaos_targets")})
    assert 'cache.key_template: "<prefix>{key}"' in " ".join(row_applicability(spec, offer_of(without, seen)).missing)


def test_the_compose_example_declares_its_roles_and_runs_every_row() -> None:
    from cachechaos.checklist import TARGETS_DIR
    from cachechaos.runtime.topology import load_topology

    topology = load_topology(TARGETS_DIR / "compose" / "topology.yaml")
    assert isinstance(topology, ComposeTopologySpec)
    offer = offer_of(topology)
    not_applicable = {name: row_applicability(spec, offer).missing for name, spec in ROWS.items()
                      if not row_applicability(spec, offer).applicable}
    # Each backend has its own proxies to Redis, the Sentinels and PostgreSQL: split-brain and
    # cache-aside-race run too.
    assert not not_applicable, not_applicable
    race = ROWS["cache-aside-race"]
    latency = bind_row(race, topology, row_applicability(race, offer)).phases[1].faults[0].model_dump()
    assert latency["link"] == "postgres.backend-1"
    split = ROWS["split-brain"]
    partition = bind_row(split, topology, row_applicability(split, offer)).phases[1].faults[0].model_dump()
    assert partition["links"]["redis.backend-2"] == "redis-?.backend-2" and partition["links"]["redis"] == "redis-?"
    spec = ROWS["invalidation-delay"]
    bound = bind_row(spec, topology, row_applicability(spec, offer))
    assert bound.phases[1].faults[0].model_dump()["link"] == "pubsub.*"
    # A recovery is observed for as long as its bound: the flush phase lasts the topology's recovery_s and more.
    spec = ROWS["flushall-recovery"]
    flush = bind_row(spec, topology, row_applicability(spec, offer)).phases[1]
    assert flush.name == "flush" and flush.duration_s >= topology.slo.recovery_s + 3 > spec.phases[1].duration_s
    # The sample backend's row keeps its carts in Redis; the service's may not: unfailed writes are 0 s of outage.
    spec = ROWS["primary-killed"]
    failover = next(c for c in bind_row(spec, topology, row_applicability(spec, offer)).criteria if c.check == "failover_time")
    assert failover.params["unaffected_passes"] is True
    assert "unaffected_passes" not in next(c for c in spec.criteria if c.check == "failover_time").params


def test_a_partition_needs_every_backends_own_links_to_redis_and_the_sentinels() -> None:
    spec = ROWS["split-brain"]
    redis = {"nodes": {"redis-1": "127.0.0.1:3"}, "sentinels": ["127.0.0.1:4"]}
    base = {"backends": ["http://127.0.0.1:1", "http://127.0.0.1:2"], "redis": redis, "chaos_targets": ["redis-1"],
            "offers": ["carts"]}
    links = {"redis": "r?", "redis.backend-1": "r?.b1", "sentinel.backend-1": "s?.b1"}
    half = _external(**base, toxiproxy={"url": "http://127.0.0.1:2", "links": links})
    found = row_applicability(spec, offer_of(half))
    assert not found.applicable
    # backend-2 has no own links: the lines to add name one backend's, a line per backend.
    assert found.missing == [
        "needs each backend's own Toxiproxy proxy to the Redis nodes: toxiproxy.links.redis.backend-1: <proxy name> "
        "(a line per backend; a glob names one proxy per node)",
        "needs each backend's own Toxiproxy proxy to the Sentinels: toxiproxy.links.sentinel.backend-1: <proxy name> "
        "(a line per backend; a glob names one proxy per node)"]
    full = _external(**base, toxiproxy={"url": "http://127.0.0.1:2", "links": {
        **links, "redis.backend-2": "r?.b2", "sentinel.backend-2": "s?.b2"}})
    assert row_applicability(spec, offer_of(full)).applicable
    # Without the Sentinels' path to the node the partition cannot isolate it.
    shared_missing = _external(**base, toxiproxy={"url": "http://127.0.0.1:2", "links": {
        k: v for k, v in {**links, "redis.backend-2": "r?.b2", "sentinel.backend-2": "s?.b2"}.items() if k != "redis"}})
    assert row_applicability(spec, offer_of(shared_missing)).missing == [
        "needs a Toxiproxy proxy on your service's path to the Redis nodes that the Sentinels and replicas take: "
        "toxiproxy.links.redis: <proxy name>"]
    # Probed, a role counts only when its proxies answer.
    seen = ProbeSeen(reads=True, carts=True, redis_ok=["redis-1"], sentinel_primary="redis-1", proxies=["r1", "r1.b1", "s1.b1", "s1.b2"])
    assert not row_applicability(spec, offer_of(full, seen)).applicable
    seen.proxies.append("r1.b2")
    assert row_applicability(spec, offer_of(full, seen)).applicable


def test_unknown_link_roles_are_refused_with_the_roles_there_are() -> None:
    with pytest.raises(ValueError, match=r"sentinel\.backend-1"):
        _external(toxiproxy={"url": "http://127.0.0.1:2", "links": {"cache": "x"}})
    with pytest.raises(ValueError, match=r"unknown role 'invalidation\.backend-1'"):
        _external(toxiproxy={"url": "http://127.0.0.1:2", "links": {"invalidation.backend-1": "x"}})
