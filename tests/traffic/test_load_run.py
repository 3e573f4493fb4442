"""LoadRun against a real topology: histories, spread over instances, skew, stop and crash behaviour."""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

from cachechaos.history.format import UNKNOWN_VERSION, Layer, Op, read_history, read_history_file
from cachechaos.runtime.local import LocalTopology
from cachechaos.traffic.runner import LoadRun
from cachechaos.traffic.runner_client import RunnerClient
from cachechaos.traffic.spec import Catalog, TrafficSpec
from cachechaos.traffic.zipf import Zipf

PRODUCTS = 2_000
CATALOG = Catalog(products=PRODUCTS, categories=100, users=1_000)
_PRODUCT_GETS = re.compile(r'^http_request_duration_seconds_count\{route="/products/\{id\}"\} (\S+)$', re.M)


def product_gets(backend: str) -> float:
    text = httpx.get(f"{backend}/metrics", timeout=5).text
    match = _PRODUCT_GETS.search(text)
    return float(match.group(1)) if match else 0.0


def processes_of(run_dir: Path) -> list[int]:
    """Live processes whose command line names this run directory (the load workers)."""
    out = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(run_dir) in cmdline and proc.pid != os.getpid():
            out.append(proc.pid)
    return out


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_short_run_records_what_the_clients_saw(topology_factory: Callable[..., LocalTopology], tmp_path: Path) -> None:
    topo = topology_factory(products=PRODUCTS, backends={"instances": 2, "config": {"strategy": "ttl"}})
    backends = list(topo.endpoints.backends.values())
    assert len(backends) == 2
    gets_before = [product_gets(b) for b in backends]
    spec = TrafficSpec.model_validate({
        "users": 16, "processes": 2, "seed": 7,
        "mix": {"browse": 70, "hot": 0, "write_price": 5, "discount": 0.3, "checkout": 3, "cart_read": 5,
                "cart_write": 3, "absent": 5},
    })
    run_dir = tmp_path / "run"
    duration = 6.0
    run = LoadRun(spec, backends, run_dir, duration, CATALOG)
    assert run.processes == ["load-0", "load-1"]
    started = time.time()
    run.start()
    live = wait_for(lambda: (s := run.stats()).requests > 0 and s.rps > 0 and s, 10, "live stats")
    assert live.p99_ms >= live.p50_ms > 0 and live.users > 0
    assert run.wait(duration + 15), "the load did not end at its duration"
    run.stop()
    run.stop()  # idempotent
    assert processes_of(run_dir) == []
    assert run.returncodes() == {"master": 0, "load-0": 0, "load-1": 0}

    assert sorted(p.stem for p in (run_dir / "history").glob("*.hist")) == run.processes
    records = read_history(run_dir)
    ops = Counter(Op(r.op) for r in records)
    assert set(ops) == {Op.READ, Op.WRITE, Op.DISCOUNT, Op.DISCOUNT_WRITE, Op.ORDER, Op.CART_READ, Op.CART_WRITE,
                        Op.ABSENT_READ}, ops
    assert all(started <= r.invoke <= r.complete <= started + duration + 3 for r in records)
    assert all(r.status != 0 for r in records), "connection errors against a healthy topology"

    reads = [r for r in records if r.op == Op.READ]
    assert all(r.status == 200 and r.version > 0 for r in reads)
    layers = Counter(Layer(r.layer) for r in reads)
    assert set(layers) <= {Layer.L1, Layer.L2, Layer.MISS} and layers[Layer.MISS] > 0 and layers[Layer.L1] > 0

    writes = [r for r in records if r.op in (Op.WRITE, Op.DISCOUNT_WRITE) and r.ok]
    assert writes and all(r.version > 1 for r in writes)
    # Versions grow by one per committed change: no two acknowledged writes of a key share one.
    assert len({(r.key, r.version) for r in writes}) == len(writes)
    discounts = [r for r in records if r.op == Op.DISCOUNT]
    assert sum(r.version for r in discounts if r.ok) == ops[Op.DISCOUNT_WRITE] > 0
    assert all(r.status in (201, 409) and r.version in (1, 2) for r in records if r.op == Op.ORDER)
    assert all(r.status == 200 and r.version >= 0 and 1 <= r.key <= CATALOG.users
               for r in records if r.op in (Op.CART_READ, Op.CART_WRITE))

    absent = [r for r in records if r.op == Op.ABSENT_READ]
    assert all(r.status == 404 and r.version == UNKNOWN_VERSION and r.key > PRODUCTS for r in absent)

    # Spread over both instances, per request.
    gets = [product_gets(b) - before for b, before in zip(backends, gets_before, strict=True)]
    assert abs(sum(gets) - len(reads) - len(absent)) <= 2
    assert min(gets) > 0.35 * sum(gets), gets

    # The Zipf skew: the id of rank 1 (through the seeded permutation, the same in every process)
    # is the top key, far above the median product.
    top = Zipf(PRODUCTS, spec.zipf_s, seed=spec.seed).id_of(1)
    counts = Counter(r.key for r in reads)
    assert counts.most_common(1)[0][0] == top != 1
    median = statistics.median(counts.get(k, 0) for k in range(1, PRODUCTS + 1))
    assert counts[top] > 30 * max(median, 1), (counts[top], median)

    # The final stats agree with the history (every sent request was recorded).
    final = run.stats()
    assert final.requests == len(records) - ops[Op.DISCOUNT_WRITE]
    assert final.errors == 0 and final.rps == 0
    assert final.by_route["GET /products/[id]"] == len(reads) + len(absent)

    # The runner's own requests go through the same recorder into history/runner.hist.
    with RunnerClient(run_dir, backends) as client:
        sale = client.discount(category=3, percent=5, backend=1)
        reread = client.read(3)
        missing = client.read(PRODUCTS + 5, op=Op.ABSENT_READ)
    assert sale.ok and sale.version == PRODUCTS // 100
    assert reread.status == 200 and reread.version > 0 and reread.layer in (Layer.L1, Layer.L2, Layer.MISS)
    assert missing.status == 404
    runner_ops = Counter(Op(r.op) for r in read_history_file(run_dir / "history" / "runner.hist"))
    assert runner_ops == {Op.DISCOUNT: 1, Op.DISCOUNT_WRITE: PRODUCTS // 100, Op.READ: 1, Op.ABSENT_READ: 1}


def test_sigkill_leaves_history_readable_and_sigterm_flushes(
    topology_factory: Callable[..., LocalTopology], tmp_path: Path
) -> None:
    topo = topology_factory(products=PRODUCTS, backends={"instances": 1})
    spec = TrafficSpec.model_validate({"users": 8, "processes": 2, "shape": {"kind": "arrival", "rate_per_s": 400},
                                       "mix": {"discount": 0}})
    run_dir = tmp_path / "run"
    run = LoadRun(spec, list(topo.endpoints.backends.values()), run_dir, 60.0, CATALOG)
    run.start()
    try:
        stats = {name: run_dir / "load" / f"{name}.json" for name in run.processes}

        def busy() -> dict[str, Any] | None:
            docs = {n: json.loads(p.read_text()) if p.exists() else {} for n, p in stats.items()}
            return docs if all(d.get("requests", 0) > 100 for d in docs.values()) else None

        docs = wait_for(busy, 30, "both processes to send requests")
        time.sleep(1.5)  # at least one flush of the history after those requests
        victim = docs["load-0"]["pid"]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: not psutil.pid_exists(victim) or psutil.Process(victim).status() == psutil.STATUS_ZOMBIE,
                 5, "the SIGKILL")
        killed = list(read_history_file(run_dir / "history" / "load-0.hist"))
        assert len(killed) >= 100
        assert all(r.invoke <= r.complete and r.op in (Op.READ, Op.WRITE, Op.ORDER, Op.CART_READ, Op.CART_WRITE,
                                                       Op.ABSENT_READ) for r in killed)
        # The open model holds its rate: ~200 req/s per process.
        assert 120 < json.loads(stats["load-1"].read_text())["rps"] < 280
    finally:
        run.stop(timeout=10)
    assert processes_of(run_dir) == []
    codes = run.returncodes()
    assert codes == {"master": 0, "load-0": -signal.SIGKILL, "load-1": 0}, codes
    # The master named the lost worker and kept its records up to its last chunk.
    assert [entry.split(" ")[0] for entry in run.died()] == ["load-0"]
    master = json.loads((run_dir / "load" / "master.json").read_text())
    lost = {w["name"]: w for w in master["workers"]}["load-0"]
    assert lost["lost"] == "no heartbeat" and not lost["final"]
    assert lost["records"] == len(list(read_history_file(run_dir / "history" / "load-0.hist"))) >= len(killed)
    # SIGTERM mid-run: users finished their requests, history closed, stats marked done and exact.
    survivor = json.loads(stats["load-1"].read_text())
    assert survivor["done"] is True
    assert len(list(read_history_file(run_dir / "history" / "load-1.hist"))) == survivor["requests"]


def test_a_stall_is_charged_to_every_arrival_it_held_up(
    topology_factory: Callable[..., LocalTopology], tmp_path: Path
) -> None:
    """Open model: while the only backend is frozen, arrivals keep coming on schedule, and each records
    the wait from its intended send time (no coordinated omission)."""
    topo = topology_factory(products=PRODUCTS, backends={"instances": 1, "config": {"strategy": "ttl"}})
    rate, freeze = 200.0, 0.6
    spec = TrafficSpec.model_validate({
        "processes": 2, "request_timeout_s": 5,
        "shape": {"kind": "arrival", "rate_per_s": rate, "spacing": "uniform"},
        "mix": {"browse": 1, "write_price": 0, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0}})
    run_dir = tmp_path / "run"
    run = LoadRun(spec, list(topo.endpoints.backends.values()), run_dir, 4.0, CATALOG)
    run.start()
    backend = topo.nodes["backend-1"]
    try:
        time.sleep(1.5)
        backend.pause()
        frozen_from = time.time()
        time.sleep(freeze)
        frozen_to = time.time()
        backend.resume()
        assert run.wait(20)
    finally:
        backend.resume()
        run.stop()
    reads = [r for r in read_history(run_dir) if r.op == Op.READ]
    held = [r for r in reads if frozen_from <= r.due < frozen_to]
    assert abs(len(held) - rate * (frozen_to - frozen_from)) <= 0.1 * rate * freeze
    assert all(r.ok for r in held)
    assert all(r.response_ms >= (frozen_to - r.due) * 1000.0 - 10.0 for r in held)
    before = [r.response_ms for r in reads if r.due < frozen_from - 0.1]
    assert statistics.median(before) < 20.0  # the stall, not the system's normal speed, made them slow
