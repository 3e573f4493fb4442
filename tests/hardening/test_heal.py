"""`cachechaos heal RUN_DIR`: the steps a fault journaled before acting put back what a killed toolkit left.

A fault runs through the real scheduler against a real Redis and the built-in proxy; the run is
then abandoned without healing (the toolkit "dies"), and `heal` has to undo it from the journal alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
from click.testing import CliRunner

from cachechaos.cli import cli
from cachechaos.experiment.scheduler import FaultScheduler
from cachechaos.faults import FaultContext
from cachechaos.faults.link import LatencyParams
from cachechaos.faults.redis_faults import RedisConfigParams
from cachechaos.heal import heal_previous_runs, read_journal, unhealed
from cachechaos.proxy.client import ToxiproxyClient
from cachechaos.runtime.endpoints import Link
from cachechaos.runtime.external import ExternalTarget
from cachechaos.runtime.external_spec import ExternalTopologySpec
from cachechaos.store.files import write_json
from cachechaos.store.journal import Journal
from tests.proxy.conftest import Server


def _target(redis_server: Server, proxy_api: str) -> ExternalTarget:
    spec = ExternalTopologySpec.model_validate({
        "kind": "external", "name": "staging", "backends": ["http://127.0.0.1:9"],
        "redis": {"nodes": {"redis-1": redis_server.address}}, "toxiproxy": {"url": proxy_api},
        "chaos_targets": ["redis-1"]})
    target = ExternalTarget(spec, allow_destructive=True)
    target.endpoints.links["redis-1"] = Link("redis-1", "127.0.0.1:0", redis_server.address)
    return target


def _abandoned_run(run_dir: Path, target: ExternalTarget) -> None:
    """Inject a CONFIG change and a toxic through the scheduler, then stop as a SIGKILL would: no heal."""
    run_dir.mkdir(parents=True)
    write_json(run_dir / "run.json", {"run_id": run_dir.name, "topology": target.spec.model_dump(mode="json")})
    journal = Journal(run_dir / "journal.jsonl")
    scheduler = FaultScheduler(FaultContext(target, allow_destructive=True), journal)
    scheduler.inject(RedisConfigParams.model_validate({"type": "redis_config", "node": "redis-1", "settings":
        {"maxmemory": "3mb", "maxmemory-policy": "allkeys-random"}}), "fault")
    scheduler.inject(LatencyParams.model_validate({"type": "latency", "link": "redis-1", "latency_ms": 500, "stream": "both"}),
                     "fault")
    journal.close()


def _applied(r: redis.Redis, toxi: ToxiproxyClient) -> dict[str, Any]:
    return {"config": r.config_get("maxmemory*"), "toxics": [t.name for t in toxi.toxics("redis-1")]}


def test_heal_undoes_an_abandoned_run_once(tmp_path: Path, redis_server: Server, proxy_api: str,
                                           toxi: ToxiproxyClient) -> None:
    toxi.create_proxy("redis-1", upstream=redis_server.address)
    r = redis.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    r.config_set("maxmemory", "0")
    r.config_set("maxmemory-policy", "noeviction")
    before = _applied(r, toxi)
    run_dir = tmp_path / "reports" / "run-1"
    _abandoned_run(run_dir, _target(redis_server, proxy_api))
    left = _applied(r, toxi)
    assert left["config"]["maxmemory-policy"] == "allkeys-random" and len(left["toxics"]) == 2
    # Recorded before each change: the values to put back and the toxics' names, no secrets.
    assert set(unhealed(read_journal(run_dir))) == {"redis_config", "latency"}

    first = CliRunner().invoke(cli, ["heal", str(run_dir)])
    assert first.exit_code == 0, first.output
    assert _applied(r, toxi) == before
    assert "healed redis_config: Redis redis-1: CONFIG SET maxmemory 3145728 -> 0" in first.output
    assert "removed toxic cachechaos_latency_upstream" in first.output
    second = CliRunner().invoke(cli, ["heal", str(run_dir)])
    assert second.exit_code == 0 and "nothing to heal" in second.output, second.output


def test_a_run_on_the_same_target_heals_what_the_last_one_left(tmp_path: Path, redis_server: Server, proxy_api: str,
                                                              toxi: ToxiproxyClient) -> None:
    toxi.create_proxy("redis-1", upstream=redis_server.address)
    r = redis.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    r.config_set("maxmemory-policy", "noeviction")
    target = _target(redis_server, proxy_api)
    _abandoned_run(tmp_path / "reports" / "run-1", target)
    other = target.spec.model_dump(mode="json") | {"name": "another-service"}
    assert heal_previous_runs(tmp_path / "reports", other) == []  # not the same target: left alone
    assert r.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-random"
    healed = heal_previous_runs(tmp_path / "reports", target.spec.model_dump(mode="json"))
    assert [h.run_dir.name for h in healed] == ["run-1"] and not healed[0].failed
    assert r.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    assert toxi.toxics("redis-1") == []


def test_a_proxy_that_is_gone_holds_nothing_and_an_unreachable_redis_fails(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    journal = Journal(run_dir / "journal.jsonl")
    journal.write("heal_step", fault="latency", step={"action": "remove_toxic", "api": "http://127.0.0.1:9",
                                                      "proxy": "postgres", "toxic": "t"})
    journal.write("heal_step", fault="redis_config", step={"action": "redis_config", "node": "redis-1",
                                                           "address": "127.0.0.1:9", "settings": {"maxmemory": "0"}})
    journal.close()
    result = CliRunner().invoke(cli, ["heal", str(run_dir)])
    assert result.exit_code == 3, result.output
    assert "latency: proxy postgres at http://127.0.0.1:9: gone" in result.output
    assert "could NOT heal redis_config" in result.output
    assert set(unhealed(read_journal(run_dir))) == {"redis_config"}  # retried by the next heal


def test_heal_refuses_what_is_not_a_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["heal", str(tmp_path)])
    assert result.exit_code == 2 and "not a run directory" in result.output


def test_a_run_still_going_is_left_to_its_own_teardown(tmp_path: Path, redis_server: Server, proxy_api: str,
                                                       toxi: ToxiproxyClient) -> None:
    import subprocess

    toxi.create_proxy("redis-1", upstream=redis_server.address)
    r = redis.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    r.config_set("maxmemory-policy", "noeviction")
    run_dir = tmp_path / "reports" / "run-1"
    _abandoned_run(run_dir, _target(redis_server, proxy_api))
    owner = subprocess.Popen(["sleep", "60"])  # stands for the toolkit still running the run
    try:
        write_json(run_dir / "run.json", {"run_id": "run-1", "status": "running", "pid": owner.pid})
        result = CliRunner().invoke(cli, ["heal", str(run_dir)])
        assert result.exit_code == 0 and f"still running (pid {owner.pid})" in result.output, result.output
        assert r.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-random"
    finally:
        owner.kill()
        owner.wait()
    result = CliRunner().invoke(cli, ["heal", str(run_dir)])  # the owner died without healing
    assert result.exit_code == 0 and "healed redis_config" in result.output, result.output
    assert r.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
