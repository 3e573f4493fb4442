"""latency, hit_rate, db_amplification, error_rate, oversell, lost_writes, monotonic_reads on written run dirs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from cachechaos.checks import CHECKS, RunData
from cachechaos.checks.stats import percentile
from cachechaos.history import Layer, Op
from tests.checks.rundirs import RunDirBuilder


def test_registry_holds_every_check() -> None:
    assert set(CHECKS) == {"stale_read_rate", "recovery_time", "latency", "hit_rate", "db_amplification",
                           "error_rate", "oversell", "lost_writes", "monotonic_reads", "failover_time", "series_stat", "key_redis_rate"}


# -- latency ---------------------------------------------------------------------------------


def test_latency_percentiles_by_route_and_phase(tmp_path: Path) -> None:
    rng = random.Random(7)
    b = RunDirBuilder(tmp_path).phases(("baseline", 0, 50), ("fault", 50, 100))
    catalog_ms: dict[str, list[float]] = {"baseline": [], "fault": []}
    for i in range(400):
        at = i / 4
        ms = rng.uniform(1, 20) if at < 50 else rng.uniform(100, 400)
        catalog_ms["baseline" if at < 50 else "fault"].append(ms)
        b.op(at, at + ms / 1000, Op.READ if i % 2 else Op.ABSENT_READ, i, 1, status=200 if i % 2 else 404)
    b.op(10, 10.5, Op.CART_READ, 1, 1).op(11, 11.25, Op.CART_WRITE, 1, 2)
    b.op(12, 12.002, Op.WRITE, 1, 2)
    run = RunData.load(b.write_dir())

    every = sorted(catalog_ms["baseline"] + catalog_ms["fault"])
    m = CHECKS["latency"](run)
    assert m.unit == "ms" and m.details["requests"] == 400
    assert m.value == pytest.approx(percentile(every, 99), abs=1e-3)
    fault = CHECKS["latency"](run, phase="fault", percentile=50)
    assert fault.value == pytest.approx(percentile(sorted(catalog_ms["fault"]), 50), abs=1e-3)
    assert m.details["by_phase"]["baseline"]["p95"] == pytest.approx(percentile(sorted(catalog_ms["baseline"]), 95), abs=1e-3)
    assert m.details["by_route"]["cart"]["count"] == 2
    assert m.details["by_route"]["cart"]["max"] == pytest.approx(500, abs=1e-3)
    assert CHECKS["latency"](run, route="order").value is None
    with pytest.raises(ValueError, match="routes: catalog"):
        CHECKS["latency"](run, route="checkout")


# -- hit_rate --------------------------------------------------------------------------------


def test_hit_rate_from_history_and_from_metrics(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path).phases(("baseline", 0, 10), ("fault", 10, 20))
    for i, layer in enumerate([Layer.L1] * 6 + [Layer.L2] * 3 + [Layer.MISS] * 1):
        b.read(1 + i * 0.1, key=i, version=1, layer=layer)
    for i, layer in enumerate([Layer.L2] * 1 + [Layer.MISS] * 3):
        b.read(11 + i * 0.1, key=i, version=1, layer=layer)
    b.read(12, key=1, version=1, layer=Layer.L1, status=500)   # failed: not a lookup
    b.read(12, key=1, version=1, layer=Layer.NONE)             # no X-Cache header: left out
    for t, hits, misses in [(0, 0, 0), (5, 80, 20), (10, 90, 30), (15, 95, 75)]:
        b.sample(t, redis={"r1": {"up": True, "keyspace_hits": hits, "keyspace_misses": misses}},
                 backends={"backend-1": {"up": True, "metrics": {'cache_hits_total{layer="l1"}': hits / 2,
                                                                  'cache_requests_total{layer="l1"}': hits}}})
    run = RunData.load(b.write_dir())

    assert CHECKS["hit_rate"](run).value == pytest.approx(10 / 14)  # (6 L1 + 4 L2) / 14
    assert CHECKS["hit_rate"](run, layer="l1").value == pytest.approx(6 / 14)
    assert CHECKS["hit_rate"](run, layer="l2").value == pytest.approx(4 / 8)  # L2 / (L2 + miss)
    fault = CHECKS["hit_rate"](run, layer="any", phase="fault")
    assert fault.value == pytest.approx(1 / 4)
    assert fault.details["by_phase"]["baseline"]["any"] == pytest.approx(0.9)
    assert fault.details["without_layer"] == 1

    metrics = CHECKS["hit_rate"](run, layer="l2", source="metrics")
    assert metrics.value == pytest.approx(95 / 170)
    # A sample closes the interval since the previous one: the one at 10 counts for the baseline.
    assert CHECKS["hit_rate"](run, layer="l2", source="metrics", phase="fault").value == pytest.approx(5 / 50)
    assert CHECKS["hit_rate"](run, layer="l2", source="metrics", phase="baseline").value == pytest.approx(90 / 120)
    assert CHECKS["hit_rate"](run, layer="l1", source="metrics").value == pytest.approx(0.5)
    with pytest.raises(ValueError, match="source 'history'"):
        CHECKS["hit_rate"](run, layer="any", source="metrics")


def test_hit_rate_of_the_hot_set_counts_only_the_most_read_keys(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path).phases(("warm", 0, 10), ("pressure", 10, 20))
    # Keys 1 and 2 are read 30 times each, keys 10..39 once: the hot set of two is {1, 2}.
    for i in range(30):
        b.read(1 + i * 0.1, key=1, version=1, layer=Layer.L2)
        b.read(11 + i * 0.1, key=2, version=1, layer=Layer.MISS if i < 3 else Layer.L2)
        b.read(11 + i * 0.1, key=10 + i, version=1, layer=Layer.MISS)
    run = RunData.load(b.write_dir())

    hot = CHECKS["hit_rate"](run, layer="l2", phase="pressure", hot_keys=2)
    assert hot.value == pytest.approx(27 / 30)
    assert hot.details["hot_keys"] == [1, 2]
    assert hot.details["by_phase"]["warm"]["l2"] == pytest.approx(1.0)
    assert CHECKS["hit_rate"](run, layer="l2", phase="pressure").value == pytest.approx(27 / 60)
    with pytest.raises(ValueError, match="hot_keys"):
        CHECKS["hit_rate"](run, layer="l2", source="metrics", hot_keys=2)


# -- db_amplification ------------------------------------------------------------------------


def test_db_amplification_is_peak_over_baseline_mean(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path).phases(("baseline", 0, 10), ("fault", 10, 20))
    per_second = [90, 110] * 5 + [100, 1000, 400, 100, 100, 100, 100, 100, 100, 100]
    total = 0
    b.sample(0, postgres={"up": True, "xact_commit": 0, "xact_rollback": 0})
    for i, q in enumerate(per_second, start=1):  # the sample at i reports the second (i-1, i]
        total += q
        b.sample(i, postgres={"up": True, "xact_commit": total - 1, "xact_rollback": 1})
    run = RunData.load(b.write_dir())
    m = CHECKS["db_amplification"](run)
    assert m.unit == "x" and m.value == pytest.approx(10.0)
    assert m.details["peak_qps"] == pytest.approx(1000) and m.details["baseline_mean_qps"] == pytest.approx(100)
    quiet = RunData.load(RunDirBuilder(tmp_path / "q").phases(("baseline", 0, 10), ("fault", 10, 20)).write_dir())
    assert CHECKS["db_amplification"](quiet).value is None
    # A floor above the measured mean replaces it (a near-idle database); one below it changes nothing.
    assert CHECKS["db_amplification"](run, floor_qps=500).value == pytest.approx(2.0)
    assert CHECKS["db_amplification"](run, floor_qps=50).value == pytest.approx(10.0)


def test_db_amplification_over_an_idle_baseline_is_defined_by_its_floor(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path).phases(("baseline", 0, 5), ("fault", 5, 10))
    b.sample(0, postgres={"up": True, "xact_commit": 0, "xact_rollback": 0})
    total = 0
    for i, q in enumerate([0, 0, 0, 0, 0, 3, 8, 1, 0, 0], start=1):
        total += q
        b.sample(i, postgres={"up": True, "xact_commit": total, "xact_rollback": 0})
    run = RunData.load(b.write_dir())
    assert CHECKS["db_amplification"](run).value is None  # 0 queries/s at baseline: undefined
    m = CHECKS["db_amplification"](run, floor_qps=10)
    assert m.value == pytest.approx(0.8) and m.details["baseline_mean_qps"] == 0 and m.details["floor_qps"] == 10


# -- error_rate ------------------------------------------------------------------------------


def test_error_rate_counts_5xx_and_no_response_only(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path).phases(("baseline", 0, 10), ("fault", 10, 20))
    for at, status, op in [(1, 200, Op.READ), (2, 404, Op.ABSENT_READ), (3, 409, Op.ORDER), (4, 201, Op.ORDER),
                           (11, 500, Op.READ), (12, 0, Op.READ), (13, 503, Op.WRITE), (14, 200, Op.READ)]:
        b.op(at, at + 0.01, op, 1, 1, status=status)
    b.op(13, 13.01, Op.DISCOUNT_WRITE, 1, 2, status=200)  # derived from a discount: not a request
    b.op(30, 30.01, Op.FINAL_READ, 1, 2, layer=Layer.L2, status=500)  # after the run: not a request
    run = RunData.load(b.write_dir())
    m = CHECKS["error_rate"](run)
    assert m.value == pytest.approx(3 / 8)
    assert m.details["by_status"] == {"0": 1, "200": 2, "201": 1, "404": 1, "409": 1, "500": 1, "503": 1}
    assert m.details["by_op"]["read"] == {"requests": 4, "errors": 2}
    assert CHECKS["error_rate"](run, phase="baseline").value == 0.0
    assert CHECKS["error_rate"](run, phase="fault").value == pytest.approx(3 / 4)


# -- oversell --------------------------------------------------------------------------------


def test_oversell_counts_units_beyond_the_initial_stock(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path, run={"status": "finished", "topology": {"postgres": {"stock": 5}}})
    for i in range(4):
        b.op(i, i + 0.1, Op.ORDER, 1, 2, status=201)    # product 1: 8 units accepted of 5
    b.op(5, 5.1, Op.ORDER, 1, 2, status=409)            # refused: does not count
    b.op(6, 6.1, Op.ORDER, 1, 2, status=500)
    b.op(7, 7.1, Op.ORDER, 2, 5, status=201)            # product 2: exactly the stock
    b.op(8, 8.1, Op.ORDER, 3, 3, status=201).op(9, 9.1, Op.ORDER, 3, 3, status=201)  # 6 of 5
    run = RunData.load(b.write_dir())
    m = CHECKS["oversell"](run)
    assert m.value == 4.0 and m.unit == "count"
    assert m.details["stock"] == 5 and m.details["products_oversold"] == 2
    assert m.details["per_product"][0] == {"product": 1, "accepted_units": 8, "accepted_orders": 4, "oversold_units": 3}
    assert CHECKS["oversell"](run, stock=100).value == 0.0


def test_oversell_defaults_to_100_units(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path)
    for i in range(51):
        b.op(i, i + 0.1, Op.ORDER, 9, 2, status=201)
    m = CHECKS["oversell"](RunData.load(b.write_dir()))
    assert m.details["stock"] == 100 and m.value == 2.0


# -- lost_writes -----------------------------------------------------------------------------


def test_lost_cart_writes_behind_the_final_version_and_duplicate_versions(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path)
    # user 1: v1..v3 acknowledged, the store holds v2 at the end -> v3 lost
    for v in (1, 2, 3):
        b.op(v, v + 0.1, Op.CART_WRITE, 1, v)
    b.op(100, 100.1, Op.FINAL_READ, 1, 2, layer=Layer.L1)
    # user 2: two primaries both handed out v5; the earlier acknowledgement is lost
    b.op(10, 10.1, Op.CART_WRITE, 2, 4).op(11, 11.1, Op.CART_WRITE, 2, 5, client=1)
    b.op(12, 12.2, Op.CART_WRITE, 2, 5, client=2, process="load-1")
    b.op(100, 100.1, Op.FINAL_READ, 2, 5, layer=Layer.L1)
    # user 3: failed writes were never acknowledged
    b.op(20, 20.1, Op.CART_WRITE, 3, 9, status=500).op(21, 21.1, Op.CART_WRITE, 3, 1)
    b.op(100, 100.1, Op.FINAL_READ, 3, 1, layer=Layer.L1)
    # user 4: the cart is gone at the end
    b.op(30, 30.1, Op.CART_WRITE, 4, 1)
    b.op(100, 100.1, Op.FINAL_READ, 4, -1, layer=Layer.L1, status=404)
    # user 5: no final read -> cannot judge
    b.op(40, 40.1, Op.CART_WRITE, 5, 1)
    # a product final read of key 1 must not be taken for the cart's
    b.op(100, 100.1, Op.FINAL_READ, 1, 99, layer=Layer.L2)
    run = RunData.load(b.write_dir())

    m = CHECKS["lost_writes"](run)
    assert m.value == 3.0
    assert m.details["acknowledged"] == 9 and m.details["unjudged"] == 1 and m.details["judged"] == 8
    assert m.details["duplicate_versions"] == 1 and m.details["missing_at_end"] == 2
    assert m.details["lost_ratio"] == pytest.approx(3 / 8)
    reasons = {(e["key"], e["version"], e["reason"]) for e in m.details["examples"]}
    assert reasons == {(1, 3, "missing_at_end"), (2, 5, "duplicate_version"), (4, 1, "missing_at_end")}
    dup = next(e for e in m.details["examples"] if e["reason"] == "duplicate_version")
    assert dup["client"] == 1  # the earlier acknowledgement is the lost one


def test_lost_product_writes_use_product_final_reads(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path)
    b.write(1, 1.1, key=1, version=2).write(2, 2.1, key=1, version=3, op=Op.DISCOUNT_WRITE)
    b.op(100, 100.1, Op.FINAL_READ, 1, 3, layer=Layer.L2)
    b.op(100, 100.1, Op.FINAL_READ, 1, 0, layer=Layer.L1)  # a cart of user 1: irrelevant here
    run = RunData.load(b.write_dir())
    assert CHECKS["lost_writes"](run, op="product").value == 0.0
    assert CHECKS["lost_writes"](run, op="product").details["acknowledged"] == 2
    assert CHECKS["lost_writes"](run, op="cart").details["acknowledged"] == 0
    # Without `op` the check judges what the run wrote: here products only, not carts by default.
    default = CHECKS["lost_writes"](run)
    assert default.details["op"] == "product" and default.details["acknowledged"] == 2 and default.value == 0.0
    with pytest.raises(ValueError, match="cart"):
        CHECKS["lost_writes"](run, op="carts")


# -- monotonic_reads -------------------------------------------------------------------------


def test_monotonic_read_violations(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path)
    b.read(1, key=1, version=3, client=1).read(2, key=1, version=2, client=1)   # went back: violation
    b.read(3, key=1, version=1, client=1)                                       # same sequence: still one
    b.read(1, key=1, version=3, client=2, took=2.0).read(2, key=1, version=2, client=2)  # overlapping: allowed
    b.read(1, key=1, version=3, client=3).read(2, key=1, version=2, client=3, process="load-1")  # other process
    b.read(1, key=2, version=5, client=4).read(2, key=2, version=2, client=4, status=500)  # failed read
    b.op(1, 1.1, Op.CART_READ, 7, 4, client=5).op(2, 2.1, Op.CART_READ, 7, 3, client=5)   # cart: violation
    b.read(3, key=7, version=1, client=5)                                       # product 7 is not cart 7
    run = RunData.load(b.write_dir())
    m = CHECKS["monotonic_reads"](run)
    assert m.value == 2.0
    assert m.details["violating_reads"] == 3
    assert {(e["kind"], e["key"], e["seen_version"], e["later_version"]) for e in m.details["examples"]} == {
        ("product", 1, 3, 2), ("product", 1, 3, 1), ("cart", 7, 4, 3)}
