"""Load on workers elsewhere: workers in their own network namespaces, a skewed clock, too few workers.

The SIGKILLed worker is tests/traffic/test_load_run.py::test_sigkill_leaves_history_readable_and_sigterm_flushes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cachechaos.checks.rundata import RunData
from cachechaos.checks.stale_reads import stale_read_rate
from cachechaos.history.clock import SKEW_ENV
from cachechaos.history.format import read_history
from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.ports import free_port
from cachechaos.runtime.process import ManagedProcess, wait_until
from cachechaos.traffic import runner as runner_module
from cachechaos.traffic.runner import LoadRun, TooFewWorkers
from cachechaos.traffic.spec import Catalog, TrafficSpec

REPO = Path(__file__).resolve().parents[2]
SKEW_S = 0.8
# Few products, many writes: a read often follows a write of its key by less than the skew.
CATALOG = Catalog(products=20, categories=4, users=100)
SPEC = TrafficSpec.model_validate({
    "processes": 2, "seed": 11, "shape": {"kind": "arrival", "rate_per_s": 300},
    "mix": {"browse": 80, "hot": 0, "write_price": 20, "discount": 0, "checkout": 0, "cart_read": 0,
            "cart_write": 0, "absent": 0},
})
DURATION_S = 5.0
MAX_STALE = 0.01  # the criterion both runs are judged on


def _worker_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != SKEW_ENV}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return {**env, **extra}


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def _sweep_orphans() -> None:
    """Remove namespaces and bridges an earlier, SIGKILLed test run left: their tag is its pid."""
    import re

    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10).stdout.split()
    links = subprocess.run(["ip", "-o", "link", "show", "type", "bridge"], capture_output=True, text=True,
                           timeout=10).stdout
    for ns in names:
        m = re.fullmatch(r"ccw\d+-(\d+)", ns)
        if m and not Path(f"/proc/{m[1]}").exists():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
    for m in re.finditer(r"\d+: (ccbr(\d+))[:@]", links):
        if not Path(f"/proc/{m[2]}").exists():
            subprocess.run(["ip", "link", "del", m[1]], capture_output=True, timeout=10)


@pytest.fixture
def netns() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A bridge (10.77.<n>.1, this namespace: the master's machine) and two namespaces with their own
    address over a veth pair each; all removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    _sweep_orphans()
    n = os.getpid() % 200 + 20
    tag = f"{os.getpid() % 100000}"
    bridge, hub = f"ccbr{tag}", f"10.77.{n}.1"
    spaces = [(f"ccw{i}-{tag}", f"10.77.{n}.{11 + i}") for i in range(2)]
    made: list[str] = []
    try:
        _ip("link", "add", bridge, "type", "bridge")
        made.append("bridge")
        _ip("addr", "add", f"{hub}/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for i, (ns, addr) in enumerate(spaces):
            _ip("netns", "add", ns)
            made.append(ns)
            veth = f"ccv{i}-{tag}"
            _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("link", "set", veth, "master", bridge, "up")
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield hub, spaces
    finally:
        for ns, _ in spaces:
            if ns in made:
                subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)  # takes its veth along
        if "bridge" in made:
            subprocess.run(["ip", "link", "del", bridge], capture_output=True, timeout=10)


def _backend(topo: LocalTopology, host: str, tmp_path: Path) -> tuple[str, ManagedProcess]:
    """The sample backend on `host` (the bridge), so workers in the namespaces reach it."""
    import httpx

    ep = topo.endpoints
    port = free_port()
    config = tmp_path / "backend.json"
    config.write_text(json.dumps({"strategy": "event", "sentinels": ep.sentinels, "master_name": ep.master_name,
                                  "postgres_dsn": ep.postgres_dsn}))
    proc = ManagedProcess("backend", [sys.executable, "-m", "cachechaos.backend", "serve", "--config", str(config),
                                      "--host", host, "--port", str(port)], tmp_path / "backend.log")
    proc.start()
    url = f"http://{host}:{port}"
    wait_until(lambda: httpx.get(f"{url}/health").status_code == 200, 30, "the backend", alive=proc)
    return url, proc


def _stale(run_dir: Path, shift: dict[str, float] | None = None) -> tuple[float, dict[str, object]]:
    """stale_read_rate of a LoadRun's history; `shift` adds seconds to a process's stamps (its clock uncorrected)."""
    records = read_history(run_dir)
    if shift:
        records = [r._replace(invoke=r.invoke + shift.get(r.process, 0.0),
                              complete=r.complete + shift.get(r.process, 0.0)) for r in records]
        run_dir = run_dir.parent / "no-clocks"  # no load/clocks.json there: no uncertainty either
    m = stale_read_rate(RunData.build(run={}, journal=[], samples=[], history=records, run_dir=run_dir))
    assert m.value is not None
    return m.value, m.details


def test_workers_in_namespaces_with_a_skewed_clock_judge_like_one_machine(
        netns: tuple[str, list[tuple[str, str]]], topology_factory: Callable[..., LocalTopology],
        tmp_path: Path) -> None:
    hub, spaces = netns
    topo = topology_factory(products=200)
    url, backend = _backend(topo, hub, tmp_path)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        # The same experiment on one machine: two local workers, no skew.
        local_dir = tmp_path / "local"
        local = LoadRun(SPEC, [url], local_dir, DURATION_S, CATALOG)
        local.start()
        assert local.wait(DURATION_S + 20)
        local.stop()
        # Two workers in their namespaces; load-1's clock 0.8 s ahead.
        port = free_port()
        for i, (ns, _) in enumerate(spaces):
            env = _worker_env(**({SKEW_ENV: str(SKEW_S)} if i == 1 else {}))
            log = (tmp_path / f"worker-{i}.log").open("wb")
            workers.append(subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-m", "cachechaos.traffic.worker",
                 "--master", f"{hub}:{port}", "--name", f"load-{i}"], env=env, stdout=log, stderr=subprocess.STDOUT))
        run_dir = tmp_path / "distributed"
        run = LoadRun(SPEC, [url], run_dir, DURATION_S, CATALOG, load_workers=2, master_bind=f"{hub}:{port}")
        run.start()
        assert run.wait(DURATION_S + 20)
        run.stop()
        for w in workers:
            assert w.wait(15) == 0
    finally:
        for w in workers:
            w.kill()
            w.wait()
        backend.stop()

    master = json.loads((run_dir / "load" / "master.json").read_text())
    assert master["lost"] == [] and all(w["final"] and w["missing_records"] == 0 and w["gaps"] == 0
                                        for w in master["workers"]), master
    hosts = {w["name"]: w for w in master["workers"]}
    assert hosts["load-0"]["records"] > 500 and hosts["load-1"]["records"] > 500
    # The offsets measured over veth: the injected skew, to within the measured uncertainty.
    clocks = json.loads((run_dir / "load" / "clocks.json").read_text())["workers"]
    for name, expected in (("load-0", 0.0), ("load-1", SKEW_S)):
        for probe in clocks[name]["probes"]:
            assert abs(probe["offset_s"] - expected) <= probe["uncertainty_s"] + 0.001, (name, probe)
        assert clocks[name]["max_uncertainty_s"] < 0.05
    # Corrected, the verdict is the single machine's; uncorrected, the skew alone makes reads stale.
    single, single_d = _stale(local_dir)
    corrected, corrected_d = _stale(run_dir)
    skewed, skewed_d = _stale(run_dir, shift={"load-1": SKEW_S})
    print(f"stale at 0 s: one machine {single:.4f}, corrected {corrected:.4f} "
          f"({corrected_d['inside_clock_uncertainty']} inside {corrected_d['clock_uncertainty_s'] * 1000:.2f} ms), "
          f"uncorrected {skewed:.4f}; load-1 offset {clocks['load-1']['offset_s']:.4f} s "
          f"± {clocks['load-1']['uncertainty_s'] * 1000:.2f} ms")
    assert (single <= MAX_STALE) == (corrected <= MAX_STALE), (single_d, corrected_d)
    assert corrected <= MAX_STALE and skewed > 5 * MAX_STALE, (corrected_d, skewed_d)
    assert 0 < corrected_d["clock_uncertainty_s"] < 0.1


def test_too_few_workers_is_an_environment_error_saying_how_to_start_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "WORKER_WAIT_S", 2.0)
    port = free_port()
    worker = subprocess.Popen([sys.executable, "-m", "cachechaos.traffic.worker", "--master", f"127.0.0.1:{port}"],
                              env=_worker_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        run = LoadRun(SPEC, ["http://127.0.0.1:9"], tmp_path / "run", DURATION_S, CATALOG, load_workers=2,
                      master_bind=f"127.0.0.1:{port}")
        with pytest.raises(TooFewWorkers) as caught:
            run.start()
        # The worker that did join is told to go home.
        out, _ = worker.communicate(timeout=30)
    finally:
        worker.kill()
    assert TooFewWorkers.exit_code == 3
    text = str(caught.value)
    assert f"1 of 2 load workers joined the master at 127.0.0.1:{port} within 2 s" in text, text
    assert f"cachechaos load-worker --master THIS_HOST:{port}" in text, text
    assert worker.returncode == 0, out.decode()
    assert run.wait(5)


def test_load_worker_serves_run_after_run_until_interrupted(tmp_path: Path) -> None:
    """As a gate uses it: one master per row at the same address, the same worker joining each."""
    port = free_port()
    worker = subprocess.Popen([sys.executable, "-m", "cachechaos", "load-worker", "--master", f"127.0.0.1:{port}"],
                              env=_worker_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for row in ("first", "second"):
            run = LoadRun(SPEC, ["http://127.0.0.1:9"], tmp_path / row, 1.0, CATALOG, load_workers=1,
                          master_bind=f"127.0.0.1:{port}")
            run.start()
            assert run.wait(20)
            run.stop()
            status = json.loads((tmp_path / row / "load" / "master.json").read_text())
            assert [(w["name"], w["final"]) for w in status["workers"]] == [("load-0", True)], status
            assert status["records"] > 50  # connection errors to the closed port are recorded too (status 0)
        assert worker.poll() is None, "the worker left after a run"
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=20)
    finally:
        worker.kill()
    assert worker.returncode == 0, out.decode()


def test_a_worker_beyond_the_loads_need_gets_no_share_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    workers = [subprocess.Popen([sys.executable, "-m", "cachechaos.traffic.worker", "--master", f"127.0.0.1:{port}"],
                                env=_worker_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    try:
        one_user = TrafficSpec.model_validate({"users": 1, "processes": 2, "mix": {"discount": 0}})
        run = LoadRun(one_user, ["http://127.0.0.1:9"], tmp_path / "run", 1.0, CATALOG, load_workers=2,
                      master_bind=f"127.0.0.1:{port}")
        run.start()
        assert run.processes == ["load-0"]
        assert run.wait(20)
        run.stop()
        outs = [w.communicate(timeout=20)[0].decode() for w in workers]
    finally:
        for w in workers:
            w.kill()
    status = json.loads((tmp_path / "run" / "load" / "master.json").read_text())
    assert [(w["name"], w["share"], w["final"]) for w in status["workers"]] == [("load-0", True, True),
                                                                                ("load-1", False, False)]
    assert sum("load-1: no share of the load: the load needs 1 worker(s) and 2 joined" in out for out in outs) == 1
    assert [w.returncode for w in workers] == [0, 0]


def test_worker_containers_on_a_local_topology_are_refused_before_anything_starts(tmp_path: Path) -> None:
    """Exit 2 with the sentence, and no run directory: nothing was brought up to find it out."""
    from click.testing import CliRunner

    from cachechaos.cli import cli

    reports = tmp_path / "reports"
    result = CliRunner().invoke(cli, ["run", str(REPO / "experiments" / "invalidation-delay.yaml"),
                                      "--load-worker-containers", "--load-workers", "1", "--no-live",
                                      "--reports-dir", str(reports)])
    assert result.exit_code == 2, result.output
    assert "needs --load-workers N and a topology of kind docker (this one is local)" in result.output
    assert not reports.exists() or not any(reports.iterdir())
