"""Kill trials: `cachechaos run` killed by SIGKILL, SIGTERM or SIGINT at a random instant, then what it left.

Shared by tests/hardening/test_kill_trials.py (a handful, slow) and tests/benchmarks/bench_kill_trials.py (50).
Two targets:

- external: an experiment with a `redis_config` fault and a latency toxic, attached (kind: external)
  to a topology this harness owns, so what the killed run left on someone else's nodes can be read
  from the nodes themselves (the ground truth, not the journal) before and after `cachechaos heal`;
- local: the local runtime, whose nodes are the toolkit's own children and must die with it;
- compose: the example compose project (targets/compose) attached (kind: compose), with a `pause` of
  a Sentinel and a `disconnect` of the Redis replica: what the killed run left is read from the
  engine (each chaos target's container status and networks) before and after `cachechaos heal`.

Orphans are processes whose command line or working directory lies under the trial's reports directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import yaml

from cachechaos.docker import container_ops
from cachechaos.docker.compose import ComposeTarget
from cachechaos.heal import read_journal
from cachechaos.runtime.compose_spec import ComposeTopologySpec
from cachechaos.runtime.local import LocalTopology

REPO = Path(__file__).resolve().parents[2]
SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}

MIX = {"browse": 90, "cart_write": 10, "checkout": 0, "write_price": 0, "cart_read": 0, "absent": 0}
FAULTS = [
    {"type": "redis_config", "node": "all", "settings": {"maxmemory": "3mb", "maxmemory-policy": "allkeys-random"}},
    {"type": "latency", "link": "postgres", "latency_ms": 50, "stream": "both"},
]


def external_experiment() -> dict[str, Any]:
    """About 8 s of run: a kill in [0.5, 8] s lands before, during or after the faults."""
    return {"name": "kill-trial", "purpose": "killed at a random instant",
            "traffic": {"users": 10, "shape": {"kind": "arrival", "rate_per_s": 60}, "mix": MIX},
            "phases": [{"name": "baseline", "duration_s": 1.5}, {"name": "fault", "duration_s": 4, "faults": FAULTS},
                       {"name": "recovery", "duration_s": 1}],
            "criteria": [{"check": "error_rate", "max": 1.0}]}


def local_experiment() -> dict[str, Any]:
    return {"name": "kill-trial-local", "purpose": "the local runtime killed at a random instant",
            "target": {"overrides": {"postgres": {"products": 300}, "backends": {"instances": 1},
                                     "redis": {"sentinels": 1, "quorum": 1}}},
            "traffic": {"users": 10, "shape": {"kind": "arrival", "rate_per_s": 60}, "mix": MIX},
            "phases": [{"name": "baseline", "duration_s": 2}, {"name": "fault", "duration_s": 4, "faults": FAULTS[1:]}],
            "criteria": [{"check": "error_rate", "max": 1.0}]}


COMPOSE_FAULTS = [{"type": "pause", "node": "sentinel-3"}, {"type": "disconnect", "node": "replica"}]


def compose_experiment() -> dict[str, Any]:
    """About 7 s of run once attached; the disconnect's heal waits until the replica answers again."""
    return {"name": "kill-trial-compose", "purpose": "a compose project's chaos run killed at a random instant",
            "traffic": {"users": 8, "shape": {"kind": "arrival", "rate_per_s": 40}, "mix": MIX},
            "phases": [{"name": "baseline", "duration_s": 1.5},
                       {"name": "fault", "duration_s": 4, "faults": COMPOSE_FAULTS},
                       {"name": "recovery", "duration_s": 1}],
            "criteria": [{"check": "error_rate", "max": 1.0}]}


def external_topology(topo: LocalTopology, path: Path) -> Path:
    ep = topo.endpoints
    path.write_text(yaml.safe_dump({
        "kind": "external", "name": "kill-trial-target", "backends": list(ep.backends.values()),
        "redis": {"sentinels": ep.sentinels, "master_name": ep.master_name, "nodes": dict(ep.redis)},
        "catalog": {"products": 300}, "postgres": {"dsn": topo.postgres.dsn},
        "toxiproxy": {"url": ep.proxy_api}, "chaos_targets": list(ep.redis), "final_reads": {"quiescence_s": 0}}))
    return path


def ground_state(topo: LocalTopology) -> dict[str, Any]:
    """What faults change on the nodes: CONFIG values, toxics, disabled proxies."""
    with topo.proxy_client() as client:
        proxies = {name: (p.enabled, sorted(t.name for t in p.toxics)) for name, p in client.proxies().items()}
    configs = {}
    for node in topo.redis_nodes:
        with node.client() as r:
            configs[node.name] = {k: r.config_get(k)[k] for k in ("maxmemory", "maxmemory-policy")}
    return {"proxies": proxies, "configs": configs}


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Every change still applied: one per CONFIG value, toxic and disabled proxy."""
    left = []
    for node, values in before["configs"].items():
        left += [f"{node} {k}={after['configs'][node][k]}" for k, v in values.items() if after["configs"][node][k] != v]
    for name, (enabled, toxics) in before["proxies"].items():
        now_enabled, now_toxics = after["proxies"].get(name, (enabled, toxics))
        left += [f"{name} disabled"] if now_enabled != enabled else []
        left += [f"{name} toxic {t}" for t in now_toxics if t not in toxics]
    return left


def restore(topo: LocalTopology, before: dict[str, Any]) -> None:
    """Put the harness's topology back whatever a trial left, so the next trial starts clean."""
    for node in topo.redis_nodes:
        with node.client() as r:
            for k, v in before["configs"][node.name].items():
                r.config_set(k, v)
    with topo.proxy_client() as client:
        for name, (enabled, toxics) in before["proxies"].items():
            for toxic in client.toxics(name):
                if toxic.name not in toxics:
                    client.remove_toxic(name, toxic.name)
            if enabled:
                client.enable(name)


ContainerState = dict[str, tuple[str, dict[str, tuple[list[str], str | None]]]]


def compose_state(client: docker.DockerClient, spec: ComposeTopologySpec) -> ContainerState:
    """Each chaos target's container: its status and the networks it is on (aliases, fixed address)."""
    with ComposeTarget(spec) as target:  # waits until every service answers
        ids = [c.id for service in spec.chaos_targets for c in target.containers(service)]
    return compose_now(client, ids)


def compose_now(client: docker.DockerClient, ids: list[str]) -> ContainerState:
    """These containers' status and networks now (no waiting: a paused one is what we look for)."""
    out: ContainerState = {}
    for cid in ids:
        container = client.containers.get(cid)
        out[cid] = (container.status, {n: (a, f) for n, a, f in container_ops.network_attachments(container)})
    return out


def container_differences(client: docker.DockerClient, before: ContainerState, after: ContainerState) -> list[str]:
    """Every change still applied: a container not in its status, or off one of its networks."""
    left = []
    for cid, (status, networks) in before.items():
        name = client.containers.get(cid).name
        now_status, now_networks = after[cid]
        left += [f"{name} {now_status}"] if now_status != status else []
        left += [f"{name} off {network}" for network in networks if network not in now_networks]
    return left


def restore_compose(client: docker.DockerClient, spec: ComposeTopologySpec, before: ContainerState) -> None:
    """Put the project back whatever a trial left, and wait until every service answers again."""
    for cid, (_status, networks) in before.items():
        container = client.containers.get(cid)
        container_ops.resume(container)
        container_ops.start_stopped(container)
        for network, (aliases, fixed) in networks.items():
            container_ops.reconnect(client, container, network, aliases, fixed)
    compose_state(client, spec)


def compose_trial(client: docker.DockerClient, spec: ComposeTopologySpec, workdir: Path, sig: str, delay_s: float,
                  after_inject: bool = False) -> Trial:
    """`cachechaos run` against the compose project, killed `delay_s` after the start (or after the first inject)."""
    before = compose_state(client, spec)
    topology = workdir / "compose.yaml"
    topology.write_text(yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True)))
    experiment = workdir / "experiment.yaml"
    experiment.write_text(yaml.safe_dump(compose_experiment()))
    reports = workdir / "reports"
    proc = _run(experiment, reports, ["--topology", str(topology), "--allow-destructive"])
    if after_inject:
        wait_for_inject(proc, reports)
    code, when = _kill_and_reap(proc, sig, delay_s, reports)
    orphans = processes_under(workdir)
    left_before = container_differences(client, before, compose_now(client, list(before)))
    heal_output = _heal(reports)
    left_after = container_differences(client, before, compose_now(client, list(before)))
    restore_compose(client, spec, before)
    return Trial("compose", sig, delay_s, after_inject, when, code, orphans, left_before, left_after, heal_output)


def processes_under(root: Path) -> list[str]:
    """Processes (other than this one) whose command line or working directory is under `root`."""
    found = []
    needle = str(root.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if needle in cmdline or cwd.startswith(needle):
            found.append(f"{entry.name}: {cmdline[:120]}")
    return found


@dataclass
class Trial:
    target: str  # external | local | compose
    signal: str
    delay_s: float  # after the start, or after the first inject edge (after_inject)
    after_inject: bool
    when: str  # what the run was doing when the signal came (killed_when)
    exit_code: int | None  # None: still running 60 s after the signal (then SIGKILLed)
    orphans: list[str]
    left_before_heal: list[str]
    left_after_heal: list[str]
    heal_output: str


def _run(experiment: Path, reports: Path, extra: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cachechaos", "run", str(experiment), "--reports-dir", str(reports),
                             "--no-live", *extra], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)


def wait_for_inject(proc: subprocess.Popen[Any], reports: Path, timeout: float = 60, earlier: frozenset[Path] = frozenset()) -> None:
    """Until a run under `reports` other than the `earlier` ones journals an inject edge."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        journals = [p for p in reports.glob("*/journal.jsonl") if p.parent not in earlier]
        if any('"event": "inject"' in p.read_text() for p in journals):
            return
        time.sleep(0.05)
    raise AssertionError(f"no fault injected within {timeout} s (exit {proc.poll()})")


def killed_when(reports: Path, killed_at: float) -> str:
    """What the run was doing at `killed_at` by its journal: `starting` (no fault injected yet), `faults` (one
    injected and not healed), `after faults` (every injected one healed), `finished` (its run_end written)."""
    entries = [e for journal in reports.glob("*/journal.jsonl") for e in read_journal(journal.parent)
               if e.get("t", killed_at) < killed_at]
    injected = {e.get("fault") for e in entries if e.get("event") == "inject"}
    healed = {e.get("fault") for e in entries if e.get("event") == "heal"}
    if any(e.get("event") == "run_end" for e in entries):
        return "finished"
    if not injected:
        return "starting"
    return "faults" if injected - healed else "after faults"


def wrong_exit(trial: Trial) -> bool:
    """A run stopped by SIGTERM or SIGINT before it finished must say so (exit 130), not carry on."""
    return trial.signal != "SIGKILL" and trial.when != "finished" and trial.exit_code != 130


def assert_left_nothing(trial: Trial) -> None:
    """What every kill trial must show: the run ended, no process outlived it, a SIGTERM or SIGINT
    was healed by the run itself and said so (exit 130), and after `cachechaos heal` nothing is left."""
    assert trial.exit_code is not None, "the run did not end within 60 s of the signal"
    assert trial.orphans == []
    if trial.signal != "SIGKILL":  # the run's own teardown heals on SIGTERM and SIGINT, and says it stopped
        assert trial.left_before_heal == [], trial
        assert not wrong_exit(trial), trial
    assert trial.left_after_heal == [], trial.heal_output


def _kill_and_reap(proc: subprocess.Popen[str], sig: str, delay_s: float, reports: Path) -> tuple[int | None, str]:
    time.sleep(delay_s)
    killed_at = time.time()
    proc.send_signal(SIGNALS[sig])
    try:
        code: int | None = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        code = None
        proc.kill()
        proc.wait()
    time.sleep(1.0)  # PDEATHSIG and the nodes' own exits
    return code, killed_when(reports, killed_at)


def _heal(reports: Path) -> str:
    runs = sorted(p.parent for p in reports.glob("*/journal.jsonl"))
    if not runs:
        return "(no run directory: killed before the record started)"
    done = subprocess.run([sys.executable, "-m", "cachechaos", "heal", *map(str, runs)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    return f"exit {done.returncode}: {done.stdout}{done.stderr}"


def external_trial(topo: LocalTopology, topology_file: Path, workdir: Path, sig: str, delay_s: float,
                   after_inject: bool = False) -> Trial:
    """`delay_s` after the start, or with `after_inject` after the first fault's inject edge."""
    before = ground_state(topo)
    experiment = workdir / "experiment.yaml"
    experiment.write_text(yaml.safe_dump(external_experiment()))
    reports = workdir / "reports"
    proc = _run(experiment, reports, ["--topology", str(topology_file), "--allow-destructive"])
    if after_inject:
        wait_for_inject(proc, reports)
    code, when = _kill_and_reap(proc, sig, delay_s, reports)
    orphans = processes_under(workdir)
    left_before = differences(before, ground_state(topo))
    heal_output = _heal(reports)
    left_after = differences(before, ground_state(topo))
    restore(topo, before)
    return Trial("external", sig, delay_s, after_inject, when, code, orphans, left_before, left_after, heal_output)


def local_trial(workdir: Path, sig: str, delay_s: float, after_inject: bool = False) -> Trial:
    experiment = workdir / "experiment.yaml"
    experiment.write_text(yaml.safe_dump(local_experiment()))
    reports = workdir / "reports"
    proc = _run(experiment, reports, [])
    if after_inject:
        wait_for_inject(proc, reports)
    code, when = _kill_and_reap(proc, sig, delay_s, reports)
    orphans = processes_under(workdir)
    heal_output = _heal(reports)  # its proxy died with it: every step finds it gone
    for line in orphans:  # never leave one behind, whatever the verdict
        with contextlib.suppress(OSError):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
    return Trial("local", sig, delay_s, after_inject, when, code, orphans, [], [], heal_output)
