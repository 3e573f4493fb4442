"""Each fault against a real topology: inject has the effect, heal undoes it, both edges journaled."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
import redis

from cachechaos.experiment.scheduler import FaultInjectionError, FaultScheduler
from cachechaos.faults import FaultContext, FaultRefused
from cachechaos.faults.link import DownParams, LatencyParams
from cachechaos.faults.process_faults import KillParams
from cachechaos.faults.redis_faults import FlushallParams, RedisConfigParams
from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.ports import split_address
from cachechaos.store.journal import Journal
from cachechaos.store.rundir import read_jsonl


@pytest.fixture
def scheduler(topology: LocalTopology, tmp_path: Path) -> FaultScheduler:
    return FaultScheduler(FaultContext(topology), Journal(tmp_path / "journal.jsonl"))


def _select_1_ms(dsn: str) -> float:
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT 1")
        start = time.perf_counter()
        conn.execute("SELECT 1")
        return (time.perf_counter() - start) * 1000


def test_latency_on_the_postgres_link_then_heal(topology: LocalTopology, scheduler: FaultScheduler, tmp_path: Path) -> None:
    dsn = topology.endpoints.postgres_dsn
    fault = scheduler.inject(LatencyParams(link="postgres", latency_ms=80, id="pg-slow"), "fault")
    assert _select_1_ms(dsn) >= 80
    scheduler.heal(fault)
    assert _select_1_ms(dsn) < 40
    with topology.proxy_client() as client:
        assert client.toxics("postgres") == []
    events = [(e["event"], e["fault"], e.get("ok")) for e in read_jsonl(tmp_path / "journal.jsonl")]
    # How to undo the toxic is journaled before it is added (cachechaos heal), then both edges.
    assert events == [("heal_step", "pg-slow", None), ("inject", "pg-slow", True), ("heal", "pg-slow", True)]


def test_down_link_refuses_and_heal_all_restores(topology: LocalTopology, scheduler: FaultScheduler) -> None:
    host, port = split_address(topology.endpoints.redis["redis-2"])
    scheduler.inject(DownParams(link="redis-2"), "fault")
    with pytest.raises(redis.ConnectionError), redis.Redis(host=host, port=port, socket_timeout=1) as r:
        r.ping()
    assert scheduler.heal_all() == []
    with redis.Redis(host=host, port=port, socket_timeout=1) as r:
        assert r.ping()


def test_flushall_is_one_shot_and_empties_the_primary(topology: LocalTopology, scheduler: FaultScheduler, tmp_path: Path) -> None:
    with topology.redis_admin("redis-1") as r:
        r.mset({f"k{i}": i for i in range(50)})
        scheduler.inject(FlushallParams(), "fault")
        assert r.dbsize() == 0
    assert scheduler.active == []
    inject = read_jsonl(tmp_path / "journal.jsonl")[0]
    assert inject["details"] == {"node": "redis-1", "keys_flushed": 50} and inject["one_shot"] is True


def test_redis_config_is_restored_on_heal(topology: LocalTopology, scheduler: FaultScheduler) -> None:
    with topology.redis_admin("redis-1") as r:
        before = r.config_get("maxmemory-policy")["maxmemory-policy"]
        fault = scheduler.inject(RedisConfigParams(settings={"maxmemory-policy": "allkeys-random", "maxmemory": "3mb"}), "fault")
        assert r.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-random"
        assert int(r.config_get("maxmemory")["maxmemory"]) == 3 * 1024 * 1024
        scheduler.heal(fault)
        assert r.config_get("maxmemory-policy")["maxmemory-policy"] == before
        assert r.config_get("maxmemory")["maxmemory"] == "0"


def test_a_failed_inject_is_journaled_and_still_healed(topology: LocalTopology, scheduler: FaultScheduler, tmp_path: Path) -> None:
    with pytest.raises(FaultInjectionError):
        scheduler.inject(RedisConfigParams(settings={"no-such-setting": "1"}), "fault")
    assert scheduler.heal_all() == []
    events = [(e["event"], e["ok"]) for e in read_jsonl(tmp_path / "journal.jsonl")]
    assert events == [("inject", False), ("heal", True)]


def test_unknown_link_is_an_injection_error(scheduler: FaultScheduler) -> None:
    with pytest.raises(FaultInjectionError, match="no link 'nope'"):
        scheduler.inject(DownParams(link="nope"), "fault")


def test_kill_primary_and_heal_restarts_it(topology_factory, tmp_path: Path) -> None:
    topo: LocalTopology = topology_factory(products=100, redis={"sentinels": 0, "replicas": 0, "quorum": 1})
    scheduler = FaultScheduler(FaultContext(topo), Journal(tmp_path / "j.jsonl"))
    fault = scheduler.inject(KillParams(node="redis-1"), "fault")
    assert not topo.node("redis-1").running
    scheduler.heal(fault)
    with topo.redis_admin("redis-1") as r:
        assert r.ping()


class _Guarded:
    """An external-style target where nothing may be destroyed."""

    def __init__(self, inner: LocalTopology) -> None:
        self.inner = inner

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def destructive_allowed(self, node: str) -> bool:
        return False


def test_destructive_faults_respect_the_safety_rules(topology: LocalTopology, tmp_path: Path) -> None:
    scheduler = FaultScheduler(FaultContext(_Guarded(topology)), Journal(tmp_path / "j.jsonl"))  # type: ignore[arg-type]
    with topology.redis_admin("redis-1") as r:
        r.set("survivor", "1")
        with pytest.raises(FaultRefused):
            scheduler.inject(FlushallParams(), "fault")
        assert r.get("survivor") == b"1"
    assert scheduler.heal_all() == []


def test_memory_pressure_shrinks_maxmemory_below_the_dataset_and_heal_restores(topology: LocalTopology, tmp_path: Path) -> None:
    from cachechaos.faults.redis_faults import MemoryPressureParams

    scheduler = FaultScheduler(FaultContext(topology), Journal(tmp_path / "j.jsonl"))
    with topology.redis_admin("redis-1") as r:
        r.flushall()
        r.mset({f"blob:{i}": "x" * 2000 for i in range(500)})
        used = int(r.info("memory")["used_memory"])
        fault = scheduler.inject(MemoryPressureParams(node="redis-1", keep_fraction=0.25, policy="allkeys-random"), "fault")
        limit = int(r.config_get("maxmemory")["maxmemory"])
        assert 0 < limit < used
        assert r.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-random"
        r.set("trigger", "1")  # eviction happens on writes
        assert r.dbsize() < 500
        scheduler.heal(fault)
        assert r.config_get("maxmemory")["maxmemory"] == "0"
        assert r.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        r.flushall()


def test_memory_pressure_on_every_node_limits_each_by_its_own_memory(topology: LocalTopology, tmp_path: Path) -> None:
    """A limit taken from one node and set on all would empty a node that holds more than the one measured
    (seen on a compose project whose first node, a replica after a failover, held less than the primary)."""
    from cachechaos.faults.redis_faults import MemoryPressureParams, pressure_limit

    params = MemoryPressureParams(node="all", keep_fraction=0.5, headroom_kb=0)
    scheduler = FaultScheduler(FaultContext(topology), Journal(tmp_path / "j.jsonl"))
    with topology.redis_admin("redis-1") as primary, topology.redis_admin("redis-2") as replica:
        primary.flushall()
        primary.mset({f"blob:{i}": "x" * 2000 for i in range(200)})
        primary.wait(1, 5000)
        replica.config_set("replica-read-only", "no")  # 300 keys more on the replica than on the primary
        replica.mset({f"extra:{i}": "y" * 2000 for i in range(300)})
        fault = scheduler.inject(params, "fault")
        try:
            measured = next(e for e in read_jsonl(tmp_path / "j.jsonl") if e["event"] == "inject")["details"]["measured"]
            assert (measured["redis-1"]["keys"], measured["redis-2"]["keys"]) == (200, 500)
            limits = {n: int(r.config_get("maxmemory")["maxmemory"]) for n, r in (("redis-1", primary), ("redis-2", replica))}
            for node, m in measured.items():  # key_bytes is journaled rounded: up to half a byte per evicted key
                assert abs(limits[node] - pressure_limit(m["used_memory"], m["keys"], float(m["key_bytes"]), params)) <= m["keys"]
            assert limits["redis-2"] > limits["redis-1"]
        finally:
            scheduler.heal(fault)
            replica.config_set("replica-read-only", "yes")
            primary.flushall()


def test_memory_pressure_keep_keys_leaves_room_for_that_many_keys(topology: LocalTopology, tmp_path: Path) -> None:
    from cachechaos.faults.redis_faults import MemoryPressureParams

    scheduler = FaultScheduler(FaultContext(topology), Journal(tmp_path / "j.jsonl"))
    with topology.redis_admin("redis-1") as r:
        r.flushall()
        r.mset({f"blob:{i}": "x" * 4000 for i in range(1000)})
        fault = scheduler.inject(MemoryPressureParams(node="redis-1", keep_keys=200, headroom_kb=0, policy="allkeys-lru"), "fault")
        try:
            for i in range(50):  # eviction happens on writes; fresh writes keep the average key size
                r.set(f"fresh:{i}", "y" * 4000)
            # Room for 200 keys of the average size; Redis's overhead moves a little meanwhile.
            assert 150 <= r.dbsize() <= 250
        finally:
            scheduler.heal(fault)
        assert r.config_get("maxmemory")["maxmemory"] == "0"
        r.flushall()
