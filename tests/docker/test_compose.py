"""`kind: compose`: the packaged example compose project brought up with the compose tool (offline
images), attached by cachechaos, and faults run against it.

One project serves the module, under a name of its own; it is taken down (`down -v`) at the end
whatever happened. The experiment test is the issue's acceptance: the example's own experiment
(kill-and-latency.yaml: a kill of the Redis primary, a chaos target, and latency on the PostgreSQL
link), run by `cachechaos run`, with its effect seen (Sentinel promoted the replica, the old primary
rejoined; writes took the added latency).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
import redis
import yaml

from cachechaos.docker import container_ops
from cachechaos.docker.compose import PROJECT_LABEL, ComposeProjectDown, ComposeTarget
from cachechaos.faults import FaultContext, build_fault
from cachechaos.faults.base import FaultRefused
from cachechaos.faults.container_faults import DisconnectParams, PauseParams
from cachechaos.faults.process_faults import KillParams
from cachechaos.history.format import Op, read_history
from cachechaos.store.rundir import read_jsonl
from tests.docker.compose_project import EXAMPLE, example_spec

LATENCY_MS = 300  # what kill-and-latency.yaml adds to the postgres link


def _wait_for(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # a node still starting
            pass
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what}")


def _replica_in_sync(target: ComposeTarget, node: str) -> bool:
    with target.redis_admin(node) as r:
        info = r.info("replication")
    return info["role"] == "slave" and info.get("master_link_status") == "up"


def test_kill_and_latency_faults_run_against_the_compose_project(project: str, tmp_path: Path) -> None:
    topology = tmp_path / "topology.yaml"
    topology.write_text(yaml.safe_dump(example_spec(project).model_dump(mode="json", exclude_none=True)))
    with ComposeTarget(example_spec(project)) as before:  # waits until every service answers
        first_primary = before.primary_name()
    assert first_primary in ("redis-1", "redis-2", "redis-3")
    reports = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "cachechaos", "run", str(EXAMPLE / "kill-and-latency.yaml"), "--topology", str(topology),
         "--allow-destructive",
         "--reports-dir", str(reports), "--no-live"], capture_output=True, text=True, timeout=240)
    (run_dir,) = [d for d in reports.iterdir() if d.is_dir()]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert result.returncode == 0, result.stdout + result.stderr + json.dumps(summary, indent=1)[:3000]
    journal = list(read_jsonl(run_dir / "journal.jsonl"))
    edges = {(e["event"], e["type"]): e for e in journal if e["event"] in ("inject", "heal")}
    assert set(edges) == {("inject", "latency"), ("heal", "latency"), ("inject", "kill"), ("heal", "kill")}
    assert all(e["ok"] for e in edges.values()), edges
    assert edges[("inject", "kill")]["target"] == first_primary

    # The latency: writes go to PostgreSQL through its link, and took the added latency while it was there.
    slow = (edges[("inject", "latency")]["t"], edges[("heal", "latency")]["t"])
    writes = [r for r in read_history(run_dir) if r.op == Op.WRITE and r.ok]
    during = [r.service_ms for r in writes if slow[0] + 0.2 < r.invoke < slow[1] - 0.5]
    outside = [r.service_ms for r in writes if r.invoke < slow[0]]
    assert len(during) >= 5 and outside, (len(during), len(outside))
    assert statistics.median(during) >= LATENCY_MS, statistics.median(during)
    assert statistics.median(outside) < LATENCY_MS / 2, statistics.median(outside)

    # The kill: Sentinel promoted the replica, and the old primary, started again on heal, follows it.
    with ComposeTarget(example_spec(project)) as after:
        _wait_for(lambda: after.primary_name() not in (None, first_primary), 20, "the replica promoted")
        _wait_for(lambda: _replica_in_sync(after, first_primary), 30, f"{first_primary} back as a replica")
    run = json.loads((run_dir / "run.json").read_text())
    assert run["topology"]["kind"] == "compose" and run["topology"]["project"] == project


def test_destructive_faults_need_chaos_targets_and_allow_destructive(project: str, engine: docker.DockerClient) -> None:
    kill = KillParams(type="kill", node="redis-2")
    with ComposeTarget(example_spec(project)) as refused, pytest.raises(FaultRefused):  # no --allow-destructive
        build_fault(kill, FaultContext(target=refused)).inject()
    undeclared = ComposeTarget(example_spec(project, chaos_targets=["backend-1"]), allow_destructive=True)
    with undeclared, pytest.raises(FaultRefused, match="redis-2"):
        build_fault(kill, FaultContext(target=undeclared, allow_destructive=True)).inject()
    running = [c.status for c in engine.containers.list(ignore_removed=True, all=True, filters={"label": [
        f"{PROJECT_LABEL}={project}", "com.docker.compose.service=redis-2"]})]
    assert running == ["running"]
    with pytest.raises(ComposeProjectDown, match="nosuch"):
        ComposeTarget(example_spec(project, chaos_targets=["nosuch"]))
    with pytest.raises(ComposeProjectDown, match="no containers"):
        ComposeTarget(example_spec(f"{project}-absent"))


def test_close_puts_back_what_a_fault_left(project: str) -> None:
    target = ComposeTarget(example_spec(project), allow_destructive=True)
    fault = build_fault(PauseParams(type="pause", node="replica"), FaultContext(target=target, allow_destructive=True))
    node = fault.inject()["node"]
    (container,) = target.containers(node)
    container.reload()
    assert container.status == "paused"
    target.close()  # without the heal: the net under a heal that failed
    container.reload()
    assert container.status == "running"


def test_disconnect_cuts_a_service_off_its_network_and_heal_puts_it_back(project: str) -> None:
    with ComposeTarget(example_spec(project), allow_destructive=True) as target:
        fault = build_fault(DisconnectParams(type="disconnect", node="replica"),
                            FaultContext(target=target, allow_destructive=True))
        node = fault.inject()["node"]
        (container,) = target.containers(node)
        assert container_ops.attachments(container) == {}
        with pytest.raises((redis.RedisError, OSError)), target.redis_admin(node) as r:
            r.ping()
        fault.heal()
        assert list(container_ops.attachments(container)) == [f"{project}_default"]
        # Back under its service name: the proxy reaches it again, and it syncs with the primary.
        _wait_for(lambda: _replica_in_sync(target, node), 30, f"{node} in sync again")
