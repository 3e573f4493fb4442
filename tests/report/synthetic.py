"""Synthetic but realistic run directories, written with the toolkit's own writers.

A run of the "kill the Redis primary" kind: per-second metrics (Redis INFO of two nodes with a
Sentinel failover, pg_stat_database, two backends' /metrics, load counters), a client history
from two load processes (reads served by L1/L2/DB, writes, orders, carts, absent ids; stale
reads around the fault), a journal with phases and faults, node logs. Variants of the scenario
give a passing run, a failing one and one killed mid-run. Also used by
tests/benchmarks/bench_report.py to make a 5-minute run.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cachechaos.checks.criteria import Criterion, evaluate
from cachechaos.checks.rundata import RunData
from cachechaos.history import HistoryWriter, Layer, Op
from cachechaos.store.files import write_json
from cachechaos.store.journal import Journal
from cachechaos.store.rundir import JOURNAL_FILE, METRICS_FILE, RUN_FILE, SUMMARY_FILE

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC: fixed, so reports are reproducible
PRODUCTS = 500
USERS = 200
SECRET = "s3cr3t-hunter2"  # must never reach a report

CRITERIA: list[dict[str, Any]] = [
    {"check": "stale_read_rate", "window_s": 1, "max": 0.01, "name": "stale reads at 1 s window <= 1%"},
    {"check": "recovery_time", "metric": "l2_hit_rate", "band": 0.8, "hold_s": 5, "after": "kill-primary",
     "max": 30, "name": "L2 hit rate back to 80% of baseline within 30 s"},
    {"check": "latency", "route": "catalog", "percentile": 99, "phase": "baseline", "max": 50,
     "name": "catalog p99 < 50 ms in baseline"},
    {"check": "error_rate", "max": 0.05, "name": "errors <= 5%"},
]

EXPERIMENT_YAML = """\
name: {name}
purpose: {purpose}
backend:
  strategy: {strategy}
phases:
  - name: baseline
    duration_s: {b}
  - name: fault
    duration_s: {f}
    faults:
      - type: redis_kill
        id: kill-primary
        node: primary
  - name: recovery
    duration_s: {r}
criteria:
  - check: stale_read_rate
    window_s: 1
    max: 0.01
"""


@dataclass
class Scenario:
    name: str = "redis-primary-kill"
    purpose: str = "Killing the Redis primary: Sentinel fails over, staleness stays under 1% and L2 recovers within 30 s"
    duration_s: int = 90
    rps: int = 200
    processes: int = 2
    backends: int = 2
    faults: int = 1                    # 1: kill the primary; 2: and a FLUSHALL in the recovery phase
    failing: bool = False              # more stale reads and an L2 that does not recover
    interrupted_at: float | None = None  # seconds: the toolkit was killed here
    variant: str | None = None
    expect: str | None = None
    strategy: str = "event"
    seed: int = 7
    extra_criteria: list[dict[str, Any]] = field(default_factory=list)

    @property
    def phases(self) -> list[tuple[str, float, float]]:
        third = self.duration_s / 3
        return [("baseline", 0.0, third), ("fault", third, 2 * third), ("recovery", 2 * third, float(self.duration_s))]

    @property
    def kill_at(self) -> float:
        return self.phases[1][1] + 0.5

    @property
    def heal_at(self) -> float:
        return self.phases[1][1] + (self.phases[1][2] - self.phases[1][1]) * 0.5

    @property
    def failover_at(self) -> float:
        return self.kill_at + 3.0

    @property
    def flush_at(self) -> float:
        return self.phases[2][1] + (self.phases[2][2] - self.phases[2][1]) * 0.4

    @property
    def end(self) -> float:
        return float(self.interrupted_at if self.interrupted_at is not None else self.duration_s)


class _State:
    """What the synthetic system is doing at second s: who is primary, how well L2 hits, how stale reads are."""

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc

    def primary(self, s: float) -> str | None:
        if s < self.sc.kill_at:
            return "redis-1"
        return None if s < self.sc.failover_at else "redis-2"

    def l2_hit(self, s: float) -> float:
        sc, base = self.sc, 0.86
        if s < sc.kill_at:
            h = base
        elif s < sc.heal_at:
            h = 0.2 if sc.failing else 0.45
        else:
            low, span = (0.2, 400.0) if sc.failing else (0.45, 10.0)
            h = low + (base - low) * min(1.0, (s - sc.heal_at) / span)
        if sc.faults >= 2 and sc.flush_at <= s < sc.flush_at + 12:
            h = min(h, 0.1 + 0.06 * (s - sc.flush_at))  # FLUSHALL: empty L2, refilled by misses
        return h

    def stale_p(self, s: float) -> float:
        sc = self.sc
        if sc.kill_at <= s < sc.heal_at + 8:
            return 0.09 if sc.failing else 0.006
        if sc.failing and s >= sc.heal_at:
            return 0.03
        return 0.0005


def _zipf_keys(rng: random.Random, n: int) -> list[int]:
    weights = [1.0 / (k ** 1.1) for k in range(1, n + 1)]
    return rng.choices(range(1, n + 1), weights=weights, k=20_000)


def write_history_and_metrics(run_dir: Path, sc: Scenario) -> None:
    rng = random.Random(sc.seed)
    state = _State(sc)
    keys = _zipf_keys(rng, PRODUCTS)
    writers = [HistoryWriter(run_dir / "history" / f"load-{i + 1}.hist", flush_every=3600) for i in range(sc.processes)]
    versions = {k: 1 for k in range(1, PRODUCTS + 1)}
    last_ack: dict[int, tuple[float, int]] = {}  # key -> (ack time, version): what a read may already see
    cart_versions = {u: 1 for u in range(1, USERS + 1)}
    redis_counters = {"redis-1": [0, 0], "redis-2": [0, 0]}
    pg_commits = 0
    backend = [{"l1_requests": 0, "l1_hits": 0, "l2_hits": 0, "db": 0} for _ in range(sc.backends)]
    load = {"requests": 0, "errors": 0}
    metrics = open(run_dir / METRICS_FILE, "w")  # noqa: SIM115 - closed below; mirrors the sampler's append file
    end = sc.end
    ops = [Op.READ] * 80 + [Op.WRITE] * 5 + [Op.ORDER] * 3 + [Op.CART_READ] * 6 + [Op.CART_WRITE] * 3 + [Op.ABSENT_READ] * 3
    for second in range(math.ceil(end)):
        n = int(sc.rps * rng.uniform(0.9, 1.1))
        lookups = hits = misses = db = errors = 0
        primary = state.primary(second)
        for j in range(n):
            t = T0 + second + (j + rng.random()) / n
            if t - T0 >= end:
                break
            op = rng.choice(ops)
            s = t - T0
            no_primary = primary is None
            status, layer, key = 200, int(Layer.NONE), 0
            version = -1
            if op == Op.READ:
                key = keys[rng.randrange(len(keys))]
                acked = last_ack.get(key)
                # What the system may show: the last acknowledged write (one still in flight is not yet due).
                visible = 1 if acked is None else acked[1] if acked[0] < t else max(1, acked[1] - 1)
                if rng.random() < 0.55:
                    layer, ms = int(Layer.L1), rng.uniform(0.15, 0.7)
                else:
                    lookups += 1
                    if not no_primary and rng.random() < state.l2_hit(s):
                        layer, ms = int(Layer.L2), rng.uniform(1.2, 4.5)
                        hits += 1
                    else:
                        layer, ms = int(Layer.MISS), rng.uniform(10, 32) + (220 if no_primary else 0)
                        misses += 1
                        db += 1
                version = visible
                if visible > 1 and rng.random() < state.stale_p(s):
                    version = visible - 1
                    layer = int(Layer.L1) if rng.random() < 0.7 else int(Layer.L2)
                if no_primary and rng.random() < (0.08 if sc.failing else 0.02):
                    status, version, ms = (0, -1, 1000.0) if rng.random() < 0.5 else (503, -1, 250.0)
            elif op == Op.WRITE:
                key = keys[rng.randrange(len(keys))]
                ms = rng.uniform(14, 40)
                versions[key] += 1
                version = versions[key]
                last_ack[key] = (t + ms / 1000, version)
                db += 2
            elif op == Op.ORDER:
                key, version, ms = keys[rng.randrange(len(keys))], 1, rng.uniform(18, 45)
                status = 201 if rng.random() < 0.93 else 409
                db += 2
            elif op in (Op.CART_READ, Op.CART_WRITE):
                key = rng.randint(1, USERS)
                if op == Op.CART_WRITE:
                    cart_versions[key] += 1
                version, ms = cart_versions[key], rng.uniform(1.5, 6)
            else:
                key, ms, status = PRODUCTS + rng.randint(1, 1000), rng.uniform(0.3, 3), 404
            if rng.random() < 0.002:
                ms *= 8  # the odd slow request, as real traffic has
            if status == 0 or status >= 500:
                errors += 1
            writers[j % len(writers)].record(t, t + ms / 1000, int(op), key, version, layer, status, client=rng.randrange(64))
        # The sample that closes this second, with cumulative counters (consumers take deltas).
        load["requests"] += n
        load["errors"] += errors
        pg_commits += db + n // 20
        if primary:
            redis_counters[primary][0] += hits
            redis_counters[primary][1] += misses
        if second == math.ceil(sc.heal_at):
            redis_counters["redis-1"] = [0, 0]  # restarted: counters start again
        for k, b in enumerate(backend):
            share = 1.0 / len(backend)
            b["l1_requests"] += int(n * 0.8 * share)
            b["l1_hits"] += int(n * 0.8 * 0.55 * share)
            b["l2_hits"] += int(hits * share)
            b["db"] += int(db * share) + k
        sample_t = T0 + second + 1 + 0.21
        if sample_t - T0 > end + 0.5:
            break
        redis: dict[str, Any] = {}
        for node in ("redis-1", "redis-2"):
            down = node == "redis-1" and sc.kill_at <= second + 1 < sc.heal_at
            if down:
                redis[node] = {"up": False}
                continue
            role = "master" if (primary == node or (node == "redis-1" and second + 1 < sc.kill_at)) else "slave"
            redis[node] = {"up": True, "role": role, "keyspace_hits": redis_counters[node][0],
                           "keyspace_misses": redis_counters[node][1], "evicted_keys": 0, "expired_keys": second,
                           "used_memory": 2_000_000 + 1000 * second, "maxmemory": 0, "connected_clients": 12,
                           "total_commands_processed": 10 * load["requests"]}
        sample = {
            "t": sample_t, "redis": redis,
            "postgres": {"up": True, "xact_commit": pg_commits, "xact_rollback": 3, "tup_returned": pg_commits * 4,
                         "tup_fetched": pg_commits * 2, "tup_updated": pg_commits // 10, "numbackends": 9},
            "backends": {f"backend-{k + 1}": {"up": True, "metrics": {
                'cache_requests_total{layer="l1"}': b["l1_requests"], 'cache_hits_total{layer="l1"}': b["l1_hits"],
                'cache_hits_total{layer="l2"}': b["l2_hits"], 'db_queries_total{kind="read"}': b["db"]}}
                for k, b in enumerate(backend)},
            "load": dict(load),
        }
        metrics.write(json.dumps(sample) + "\n")
    if sc.interrupted_at is not None:
        metrics.write('{"t": %.2f, "redis": {"redis-1": {"up": tr' % (T0 + end + 1))  # torn by the kill
    metrics.close()
    for w in writers:
        w.close()
    if sc.interrupted_at is not None:
        with open(writers[0].path, "ab") as f:
            f.write(b"\x00" * 17)  # half a record: the process died mid-write
    for k in range(sc.processes):
        write_json(run_dir / "load" / f"load-{k + 1}.json",
                   {"requests": load["requests"] // sc.processes, "errors": load["errors"] // sc.processes})


def write_journal(run_dir: Path, sc: Scenario) -> None:
    journal = Journal(run_dir / JOURNAL_FILE)
    end = sc.end

    def at(s: float, event: str, **fields: Any) -> None:
        if s <= end:
            journal.write(event, t=T0 + s, **fields)

    at(0.0, "run_start", experiment=sc.name, variant=sc.variant, run_id=run_dir.name)
    kill = {"fault": "kill-primary", "type": "redis_kill", "phase": "fault", "target": "redis-1", "one_shot": False,
            "params": {"node": "primary", "restart": True}}
    flush = {"fault": "flushall", "type": "redis_flushall", "phase": "recovery", "target": "redis-2", "one_shot": True,
             "params": {"node": "primary"}}
    for name, start, stop in sc.phases:
        at(start + 0.01, "phase_start", phase=name)
        if name == "fault":
            at(sc.kill_at, "inject", ok=True, details={"pid": 4242}, **kill)
            at(sc.heal_at, "heal", ok=True, details={"restarted": True}, **kill)
        if name == "recovery" and sc.faults >= 2:
            at(sc.flush_at, "inject", ok=True, details={}, **flush)
            at(sc.flush_at + 0.002, "heal", ok=True, details={}, **flush)
        at(stop - 0.01, "phase_end", phase=name)
    if sc.interrupted_at is None:
        at(end + 0.3, "run_end", status="finished")
    journal.close()


def write_node_logs(run_dir: Path, sc: Scenario) -> None:
    def log(node: str, lines: list[str]) -> None:
        path = run_dir / "nodes" / node / f"{node}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")

    boot = [f"1:M 01 Jan 2026 00:00:0{i}.000 * Ready to accept connections tcp" for i in range(3)]
    log("redis-1", boot + [f"1:M 01 Jan 2026 00:00:{10 + i}.000 * Background saving started" for i in range(60)]
        + ["1:signal-handler (1767225630) Received SIGKILL"])
    log("redis-2", [*boot, "1:S 01 Jan 2026 00:00:33.500 * MASTER MODE enabled (user request from 'id=7')", "1:M 01 Jan 2026 00:00:33.501 # Connection with master lost."])
    log("postgres", ["LOG:  database system is ready to accept connections",
                     f"LOG:  connection authorized: user=cachechaos password={SECRET} database=cachechaos"])
    backend = [f"INFO GET /products/{i} 200" for i in range(80)]
    if sc.failing or sc.interrupted_at is not None:
        backend += ["ERROR redis: Connection refused (redis-1 127.0.0.1:6390)",
                    f"ERROR falling back to postgresql://cachechaos:{SECRET}@127.0.0.1:5433/cachechaos",
                    "Traceback (most recent call last):", '  File "cache.py", line 88, in get', "ConnectionError: timeout"]
    log("backend-1", backend)
    log("backend-2", [f"INFO GET /products/{i} 200" for i in range(30)])
    log("sentinel-1", ["+sdown master cachechaos 127.0.0.1 6390", "+switch-master cachechaos 127.0.0.1 6390 127.0.0.1 6391"])


def write_run_info(run_dir: Path, sc: Scenario) -> None:
    criteria = [Criterion.model_validate(c).model_dump(mode="json") for c in CRITERIA + sc.extra_criteria]
    b, f, r = (round(p[2] - p[1], 3) for p in sc.phases)
    text = EXPERIMENT_YAML.format(name=sc.name, purpose=sc.purpose, strategy=sc.strategy, b=b, f=f, r=r)
    info: dict[str, Any] = {
        "run_id": run_dir.name,
        "experiment": {"name": sc.name, "purpose": sc.purpose, "file": f"experiments/{sc.name}.yaml", "text": text,
                       "variant": sc.variant, "spec": {"name": sc.name, "purpose": sc.purpose, "criteria": criteria}},
        "toolkit": {"version": "0.1.0", "git_commit": "2e7f1ea0c0ffee0123456789abcdef0123456789"},
        "topology": {"kind": "local", "name": "local", "redis": {"replicas": 1, "sentinels": 3, "quorum": 2},
                     "postgres": {"products": PRODUCTS, "users": USERS, "password": SECRET},
                     "backends": {"instances": sc.backends}},
        "backend": {"strategy": sc.strategy, "l1": {"ttl_s": 30}, "l2": {"ttl_s": 300},
                    "dsn": f"postgresql://cachechaos:{SECRET}@127.0.0.1:5433/cachechaos"},
        "seeds": {"experiment": 42, "traffic": sc.seed, "postgres": 42},
        "binaries": {"redis-server": {"path": "/usr/bin/redis-server", "version": "7.0.15", "source": "PATH"},
                     "postgres": {"path": "/usr/lib/postgresql/15/bin/postgres", "version": "15.14", "source": "PATH"},
                     "toxiproxy": {"path": None, "version": "builtin", "source": "builtin"}},
        "endpoints": {"backends": {f"backend-{k + 1}": f"http://127.0.0.1:{18080 + k}" for k in range(sc.backends)}},
        "started_at": T0,
        "status": "running",
    }
    if sc.interrupted_at is None:
        info.update(status="finished", ended_at=T0 + sc.end + 0.3)
    write_json(run_dir / RUN_FILE, info)


def write_run(run_dir: Path, sc: Scenario) -> Path:
    """The raw record of a run (no summary.json): what a toolkit killed at the end would leave."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "load").mkdir(exist_ok=True)
    write_run_info(run_dir, sc)
    write_journal(run_dir, sc)
    write_history_and_metrics(run_dir, sc)
    write_node_logs(run_dir, sc)
    return run_dir


def finish_run(run_dir: Path, sc: Scenario) -> dict[str, Any]:
    """Verdicts and summary.json exactly as the runner's _summarize writes them."""
    criteria = [Criterion.model_validate(c) for c in CRITERIA + sc.extra_criteria]
    verdicts = [v.to_dict() for v in evaluate(RunData.load(run_dir), criteria)]
    passed = all(v["passed"] for v in verdicts)
    summary = {
        "run_id": run_dir.name, "experiment": sc.name, "variant": sc.variant, "purpose": sc.purpose,
        "status": "passed" if passed else "failed", "exit_code": 0 if passed else 1, "error": None,
        "expect": sc.expect, "started_at": T0, "ended_at": T0 + sc.end + 0.3, "duration_s": sc.end + 0.3,
        "verdicts": verdicts,
    }
    write_json(run_dir / SUMMARY_FILE, summary)
    return summary


CASES = {
    "passing": Scenario(),
    "failing": Scenario(failing=True, seed=11, duration_s=120, faults=2),
    "interrupted": Scenario(interrupted_at=55.0, seed=13),
}


def make_case(root: Path, case: str) -> Path:
    sc = CASES[case]
    run_dir = write_run(root / f"{sc.name}-{case}", sc)
    if sc.interrupted_at is None:
        finish_run(run_dir, sc)
    return run_dir


def make_suite(root: Path) -> Path:
    """A matrix suite: two experiments, two variants each (one verdict against its expectation)."""
    suite_dir = root / "suite-checklist-matrix"
    suite_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    plan = [
        ("redis-primary-kill", "quorum-2", "pass", False, "event"),
        ("redis-primary-kill", "no-replica", "fail", True, "event"),
        ("invalidation-delay", "quorum-2", "pass", False, "event"),
        ("invalidation-delay", "no-replica", "fail", False, "ttl"),  # passes although it should fail
    ]
    for k, (name, variant, expect, failing, strategy) in enumerate(plan):
        sc = Scenario(name=name, variant=variant, expect=expect, failing=failing, strategy=strategy, duration_s=60,
                      rps=100, seed=100 + k, purpose=f"{name}: the {variant} configuration under a primary kill")
        run_dir = write_run(suite_dir / f"{name}-{variant}", sc)
        summary = finish_run(run_dir, sc)
        row = {**summary, "run_dir": run_dir.name}
        row["detected"] = (summary["status"] == "passed") == (expect == "pass")
        rows.append(row)
    detected_all = all(r["detected"] for r in rows)
    write_json(suite_dir / SUMMARY_FILE, {
        "suite": "checklist", "description": "The production checklist, every configuration", "matrix": True,
        "run_id": suite_dir.name, "started_at": T0, "ended_at": T0 + 250, "duration_s": 250.0,
        "exit_code": 0 if detected_all else 1, "status": "passed" if detected_all else "failed", "runs": rows,
    })
    return suite_dir
