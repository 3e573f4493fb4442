"""Sentinel auth in attach mode: Sentinels with a requirepass of their own over Redis nodes with another.
The probe reads the primary from them, the `sentinel_failover` fault has them promote the replica, and
without the Sentinels' password both are refused (so the password is what made them work)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cachechaos.faults import FaultContext, build_fault
from cachechaos.faults.sentinel_faults import SentinelFailoverParams
from cachechaos.probe import probe_target
from cachechaos.runtime.external import ExternalTarget
from cachechaos.runtime.external_spec import ExternalTopologySpec
from cachechaos.runtime.ports import free_port
from cachechaos.runtime.process import ManagedProcess, wait_until

REDIS_SECRET = "redis-Sec7et-77aa"
SENTINEL_SECRET = "sentinel-Sec7et-31bd"
MASTER = "authmaster"


def _start(name: str, config: str, tmp_path: Path, sentinel: bool = False) -> ManagedProcess:
    path = tmp_path / f"{name}.conf"
    path.write_text(config)
    process = ManagedProcess(name, ["redis-server", str(path), *(["--sentinel"] if sentinel else [])], tmp_path / f"{name}.log")
    process.start()
    return process


def _node_config(port: int, tmp_path: Path, replica_of: int | None = None) -> str:
    text = (f"port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {tmp_path}\nrequirepass {REDIS_SECRET}\n"
            f"masterauth {REDIS_SECRET}\n")
    return text + (f"replicaof 127.0.0.1 {replica_of}\n" if replica_of else "")


@pytest.fixture
def protected_sentinels(tmp_path: Path) -> Iterator[dict[str, object]]:
    """A primary, a replica and a Sentinel, each asking a password (the Sentinel its own), started by hand."""
    primary, replica, sentinel = free_port(), free_port(), free_port()
    processes = [_start("primary", _node_config(primary, tmp_path), tmp_path),
                 _start("replica", _node_config(replica, tmp_path, primary), tmp_path)]
    try:
        processes.append(_start("sentinel", (
            f"port {sentinel}\nbind 127.0.0.1\ndir {tmp_path}\nrequirepass {SENTINEL_SECRET}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {primary} 1\nsentinel auth-pass {MASTER} {REDIS_SECRET}\n"
            f"sentinel down-after-milliseconds {MASTER} 1000\nsentinel failover-timeout {MASTER} 3000\n"), tmp_path, True))
        with redis.Redis(port=sentinel, password=SENTINEL_SECRET) as s:
            # A failover needs the Sentinel to know the replica (from the primary's INFO).
            wait_until(lambda: int(s.sentinel_master(MASTER)["num-slaves"]) >= 1, 30, "the Sentinel to see the replica")
        yield {"nodes": {"redis-1": f"127.0.0.1:{primary}", "redis-2": f"127.0.0.1:{replica}"},
               "sentinels": [f"127.0.0.1:{sentinel}"]}
    finally:
        for process in reversed(processes):
            process.stop()


def _spec(redis_section: dict[str, object], sentinel_password: str | None) -> ExternalTopologySpec:
    return ExternalTopologySpec.model_validate({
        "kind": "external", "name": "auth", "backends": ["http://127.0.0.1:9"], "chaos_targets": ["redis-1", "redis-2"],
        "redis": {**redis_section, "master_name": MASTER, "password": REDIS_SECRET, "sentinel_password": sentinel_password}})


def test_the_probe_and_sentinel_failover_use_the_sentinel_password(protected_sentinels: dict[str, object]) -> None:
    without = probe_target(_spec(protected_sentinels, None), write=False)
    assert [f.status for f in without.findings if f.area == "sentinel"] == ["fail"], without.findings
    report = probe_target(_spec(protected_sentinels, SENTINEL_SECRET), write=False)
    found = {(f.area, f.name): (f.status, f.detail) for f in report.findings if f.area in ("redis", "sentinel")}
    assert found[("sentinel", "sentinel-1")][0] == "ok", found
    assert found[("redis", "redis-1")] == ("ok", f"{protected_sentinels['nodes']['redis-1']}: master")  # type: ignore[index]
    assert found[("redis", "redis-2")][0] == "ok", found

    # SENTINEL FAILOVER is refused (NOAUTH) without the password, as every other command: that the replica is
    # promoted below shows the fault sent it.
    target = ExternalTarget(_spec(protected_sentinels, SENTINEL_SECRET), allow_destructive=True)
    assert target.primary_name() == "redis-1"
    details = build_fault(SentinelFailoverParams(type="sentinel_failover"),
                          FaultContext(target, allow_destructive=True)).inject()
    assert details["old_primary"] == "redis-1"
    wait_until(lambda: target.primary_name() == "redis-2", 20, "the Sentinel to promote redis-2")
