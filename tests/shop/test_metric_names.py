"""The topology's `metrics:` mapping: a service's own Prometheus names read as the toolkit's.

Against the test shop (a real HTTP server counting its store reads and cache lookups under its own
names), through the probe a gate runs; the translation itself and the checks on recorded samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from cachechaos.applicability import offer_of
from cachechaos.checklist import EXPERIMENTS_DIR
from cachechaos.checks import CHECKS, RunData
from cachechaos.experiment.binding import bind_row, row_applicability
from cachechaos.experiment.model import load_experiment
from cachechaos.metric_names import MetricNames, translate
from cachechaos.probe import probe_seen
from cachechaos.prometheus_text import prometheus_samples
from cachechaos.runtime.external_spec import ExternalTopologySpec
from tests.checks.rundirs import RunDirBuilder
from tests.shop.conftest import PRODUCTS

SHOP_NAMES = {"db_queries": "shop_store_reads_total",
              "l1_hits": 'shop_cache_lookups_total{result="hit",tier="local"}',  # labels in another order than served
              "l1_misses": 'shop_cache_lookups_total{tier="local",result="miss"}'}


def _shop_topology(url: str, **extra: Any) -> ExternalTopologySpec:
    return ExternalTopologySpec.model_validate({"kind": "external", "name": "shop", "backends": [url],
                                                "catalog": {"products": PRODUCTS}, **extra})


def test_the_shops_own_counters_read_as_the_toolkits_through_the_probe(shop_factory: Any) -> None:
    shop = shop_factory("ttl", "--ttl", "30", "--metrics", "counting")
    for pid in [1, 2, 3, 1, 1, 2]:  # 3 misses (each a store read), 3 hits
        assert httpx.get(f"{shop.url}/products/{pid}", timeout=5).status_code == 200
    mapped = _shop_topology(shop.url, metrics=SHOP_NAMES)
    seen = probe_seen(mapped)
    truth = shop.stats()  # after the probe: its own reads count too
    assert seen.metrics["db_queries_total"] <= truth["store_reads"] and seen.metrics["db_queries_total"] >= 3
    hits, lookups = seen.metrics['cache_hits_total{layer="l1"}'], seen.metrics['cache_requests_total{layer="l1"}']
    assert hits >= 3 and lookups >= 6 and hits <= truth["cache_hits"]
    assert 'shop_store_reads_total{table="products"}' in seen.metrics  # the shop's own samples stay
    offer = offer_of(mapped, seen)
    assert {"backend_db_rate", "l1_counters"} <= offer.has
    # Without the mapping the same shop offers neither: its names are not the toolkit's.
    bare = _shop_topology(shop.url)
    assert not {"backend_db_rate", "l1_counters"} & offer_of(bare, probe_seen(bare)).has


def test_translation_of_labelled_and_bare_names() -> None:
    samples, problem = prometheus_samples('q_total{db="a"} 4\nq_total{db="b"} 6\nc_total{r="hit",t="x"} 9\n'
                                          'c_total{r="miss",t="x"} 1\nc_total{r="hit",t="y"} 5\nc_total{r="miss",t="y"} 5\n')
    assert problem is None
    out = translate(samples, MetricNames(db_queries="q_total", l2_hits='c_total{t="y", r="hit"}',
                                         l2_misses='c_total{r="miss",t="y"}'))
    assert out["db_queries_total"] == 10  # a bare name sums every label set
    assert out['cache_hits_total{layer="l2"}'] == 5 and out['cache_requests_total{layer="l2"}'] == 10
    assert 'cache_hits_total{layer="l1"}' not in out
    assert translate(samples, MetricNames(db_queries="absent_total")) == samples  # nothing to map: nothing added
    with pytest.raises(ValidationError, match="l1_hits and l1_misses go together"):
        MetricNames(l1_hits="h_total")
    with pytest.raises(ValidationError):
        MetricNames(db_queries="not a name{")


def test_a_hit_rate_row_reads_the_services_counters_when_it_has_no_layer_header(tmp_path: Path) -> None:
    spec = load_experiment(EXPERIMENTS_DIR / "eviction-policy.yaml")
    topology = _shop_topology("http://127.0.0.1:1", redis={"nodes": {"cache": "127.0.0.1:2"}}, chaos_targets=["cache"],
                              metrics={"l2_hits": "h_total", "l2_misses": "m_total"})
    found = row_applicability(spec, offer_of(topology))
    # The hot-key criterion needs each read's key and layer (counters have no keys); the overall one reads counters.
    assert not found.applicable and any("X-Cache" in line for line in found.missing)
    hot, overall = spec.criteria
    bare = spec.model_copy(update={"criteria": [overall], "detection": None})
    found = row_applicability(bare, offer_of(topology))
    assert found.applicable and found.from_counters == [overall.label]
    assert bind_row(bare, topology, found).criteria[0].params["source"] == "metrics"
    assert hot.params.get("hot_keys")


def test_l2_hit_rate_from_the_backends_counters_when_no_redis_was_sampled(tmp_path: Path) -> None:
    b = RunDirBuilder(tmp_path).phases(("baseline", 0, 4), ("fault", 4, 8))
    for i in range(9):  # each second 8 L2 lookups, 6 of them hits, summed over two backends
        section = {"up": True, "metrics": {'cache_hits_total{layer="l2"}': 3.0 * i, 'cache_requests_total{layer="l2"}': 4.0 * i}}
        b.sample(i, backends={"backend-1": section, "backend-2": section})
    run = RunData.load(b.write_dir())
    m = CHECKS["hit_rate"](run, layer="l2", source="metrics", phase="fault")
    assert m.value == pytest.approx(0.75)
    assert m.details["counts"]["l2_lookups"] == pytest.approx(32)  # the four seconds closing in the fault phase
