"""Final reads through the contract: a service that ignores `Cache-Control: no-cache` is read after a
quiescence period past its TTL; read too early, its cache makes applied writes look lost."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cachechaos.checks.durability import lost_writes
from cachechaos.checks.rundata import RunData
from cachechaos.experiment.final_reads import FinalReadPlan, Kind, record_final_reads
from cachechaos.history import HistoryWriter, Op, read_history
from cachechaos.runtime.external_spec import DEFAULT_QUIESCENCE_S, ExternalTopologySpec, VersionTable
from cachechaos.runtime.ports import free_port
from cachechaos.store.rundir import HISTORY_DIR

TTL_S = 2.0
KEYS = range(1, 21)


def _write_through_cache(url: str, run_dir: Path) -> None:
    """Read every key (the shop caches it), then write it: acknowledged writes the cache does not see."""
    writer = HistoryWriter(run_dir / HISTORY_DIR / "w.hist")
    with httpx.Client(base_url=url) as client:
        for key in KEYS:
            client.get(f"/products/{key}")
            invoke = time.time()
            response = client.put(f"/products/{key}", json={"price": 5})
            writer.record(invoke, time.time(), Op.WRITE, key, response.json()["version"], 0, response.status_code)
    writer.close()


@pytest.mark.parametrize(("quiescence_s", "lost"), [(0.0, len(KEYS)), (TTL_S + 1, 0)])
def test_quiescence_outlasts_the_cache(quiescence_s: float, lost: int, shop_factory: Any, tmp_path: Path) -> None:
    shop = shop_factory("ttl", "--ttl", str(TTL_S))
    _write_through_cache(shop.url, tmp_path)
    how = record_final_reads(tmp_path, FinalReadPlan(shop.url, quiescence_s=quiescence_s))
    assert set(how) == {"products"} and "over HTTP" in how["products"]
    finals = [r for r in read_history(tmp_path) if r.op == Op.FINAL_READ]
    assert len(finals) == len(KEYS) and all(r.status == 200 for r in finals)
    m = lost_writes(RunData.build({}, [], [], read_history(tmp_path)), op="product")
    assert m.value == lost and m.details["judged"] == len(KEYS)


def test_default_quiescence_is_past_the_declared_ttl() -> None:
    def spec(**extra: object) -> ExternalTopologySpec:
        return ExternalTopologySpec.model_validate({"backends": ["http://x"], **extra})

    assert spec(cache={"max_ttl_s": 30}).quiescence_s() == 31
    assert spec().quiescence_s() == DEFAULT_QUIESCENCE_S
    assert spec(cache={"max_ttl_s": 30}, final_reads={"quiescence_s": 2}).quiescence_s() == 2


def test_unreachable_database_leaves_writes_unjudged(shop_factory: Any, tmp_path: Path) -> None:
    """A DSN that does not answer: the final reads say so and the check has no evidence, never 0 lost."""
    shop = shop_factory("nocache")
    _write_through_cache(shop.url, tmp_path)
    tables: dict[Kind, VersionTable] = {"products": VersionTable(table="products", key="id", version="version")}
    plan = FinalReadPlan(shop.url, f"postgresql://nobody@127.0.0.1:{free_port()}/none", tables)
    how = record_final_reads(tmp_path, plan)
    assert "FAILED" in how["products"] and "not judged" in how["products"]
    m = lost_writes(RunData.build({}, [], [], read_history(tmp_path)), op="product")
    assert m.value is None and m.details["acknowledged"] == len(KEYS) and m.details["judged"] == 0
    assert "no final read" in m.details["reason"]
