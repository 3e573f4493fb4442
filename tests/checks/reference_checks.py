"""The checks as they were before the history became columns: one Python object per operation.

Kept as the reference the vectorized checks must agree with (test_columnar_equivalence.py), so
they are deliberately the simple, loop-per-record implementations, reading the test's own list
of records (not the columns) and sharing nothing with the code under test but the windows and
the record type.
"""

from __future__ import annotations

import bisect
import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from cachechaos.checks.latency_slo import ROUTES  # the table of routes, not logic under test
from cachechaos.checks.rundata import RunData
from cachechaos.checks.windows import Window
from cachechaos.history.clock import clock_uncertainty
from cachechaos.history.format import PRODUCT_WRITES, Layer, Op, Record

_WRITE_OPS = frozenset(int(op) for op in PRODUCT_WRITES)
_READ = int(Op.READ)
REPORTED_WINDOWS = (0.0, 1.0, 10.0, 60.0)
AGE_EDGES = (0.0, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
MAX_EXAMPLES = 20


# -- statistics ------------------------------------------------------------------------------------

def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    n = len(sorted_values)
    if n == 0:
        return None
    return float(sorted_values[max(1, math.ceil(p / 100.0 * n)) - 1])


def summary(values: list[float], percentiles: Sequence[float] = (50, 95, 99)) -> dict[str, Any]:
    ordered = sorted(values)
    out: dict[str, Any] = {"count": len(ordered), "max": ordered[-1] if ordered else None}
    for p in percentiles:
        out[f"p{p:g}"] = percentile(ordered, p)
    return out


def histogram(values: Sequence[float], edges: Sequence[float]) -> list[dict[str, Any]]:
    counts = [0] * len(edges)
    for v in values:
        counts[max(bisect.bisect_right(edges, v) - 1, 0)] += 1
    his: list[float | None] = [*edges[1:], None]
    return [{"lo": lo, "hi": hi, "count": c} for lo, hi, c in zip(edges, his, counts, strict=True)]


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _layer_name(layer: int) -> str:
    try:
        return Layer(layer).name.lower()
    except ValueError:
        return str(layer)


# -- the run, as a list of records -----------------------------------------------------------------

class ReferenceRun:
    """The test's records sorted by invoke (stably, as read_history did), windows from a RunData."""

    def __init__(self, records: list[Record], run: RunData) -> None:
        self.history = sorted(records, key=lambda r: r.invoke)
        self.run = run
        self.phases = run.phases

    def window(self, name: str) -> Window:
        return self.run.window(name)

    def records(self, phase: str | None = None, ops: Iterable[int] | None = None) -> list[Record]:
        history = self.history
        if phase is not None:
            w = self.window(phase)
            history = [r for r in history if w.start <= r.invoke < w.end]
        if ops is None:
            return list(history)
        wanted = frozenset(int(op) for op in ops)
        return [r for r in history if r.op in wanted]

    def stale_reads(self) -> list[StaleRead]:
        return find_stale_reads(self.history, WriteIndex(self.history))


# -- staleness -------------------------------------------------------------------------------------

class StaleRead(NamedTuple):
    read: Record
    newer_acked_at: float
    newer_version: int

    @property
    def age(self) -> float:
        return self.read.invoke - self.newer_acked_at

    def stale_at(self, window_s: float) -> bool:
        return self.newer_acked_at < self.read.invoke - window_s


class WriteIndex:
    """Acknowledged product writes per key: completion times and the running maximum version."""

    def __init__(self, records: Iterable[Record]) -> None:
        by_key: dict[int, list[tuple[float, int]]] = {}
        for r in records:
            if r.op in _WRITE_OPS and 200 <= r.status < 300 and r.version >= 0:
                by_key.setdefault(r.key, []).append((r.complete, r.version))
        self.index: dict[int, tuple[list[float], list[int]]] = {}
        for key, writes in by_key.items():
            writes.sort()
            acks: list[float] = []
            running: list[int] = []
            top = -1
            for acked, version in writes:
                top = max(top, version)
                acks.append(acked)
                running.append(top)
            self.index[key] = (acks, running)


def find_stale_reads(records: Iterable[Record], index: WriteIndex) -> list[StaleRead]:
    """Every judged read stale at window 0, in the order of `records`."""
    out: list[StaleRead] = []
    for r in records:
        if r.op != _READ or not 200 <= r.status < 300 or r.version < 0:
            continue
        entry = index.index.get(r.key)
        if entry is None:
            continue
        acks, running = entry
        i = bisect_right(running, r.version)
        if i < len(running) and acks[i] < r.invoke:
            out.append(StaleRead(r, acks[i], running[i]))
    return out


def stale_read_rate(run: ReferenceRun, window_s: float = 0.0, phase: str | None = None,
                    worst_span_s: float | None = None) -> tuple[float | None, dict[str, Any]]:
    ok_reads = [r for r in run.records(phase, ops=[Op.READ]) if 200 <= r.status < 300]
    reads = [r for r in ok_reads if r.version >= 0]
    unjudged = len(ok_reads) - len(reads)
    stale_all = run.stale_reads()
    if phase is not None:
        w = run.window(phase)
        stale_all = [s for s in stale_all if w.contains(s.read.invoke)]
    total = len(reads)
    # Stale only beyond the clock uncertainty of the reader plus the largest of any process (load/clocks.json).
    u = {p: clock_uncertainty(run.run.run_dir).get(p, 0.0) for p in {r.process for r in run.history}}
    u_write = max(u.values(), default=0.0)

    def beyond(s: StaleRead, w: float) -> bool:
        return s.stale_at(w) if u_write <= 0 else s.newer_acked_at < s.read.invoke - w - (u[s.read.process] + u_write)

    stale = [s for s in stale_all if beyond(s, window_s)]
    windows = sorted({*REPORTED_WINDOWS, window_s})
    fractions = {f"{w:g}": (sum(1 for s in stale_all if beyond(s, w)) / total if total else None) for w in windows}
    counts = {f"{w:g}": sum(1 for s in stale_all if beyond(s, w)) for w in windows}
    ages = sorted(s.age for s in stale_all)
    reads_per_layer: dict[int, int] = {}
    for r in reads:
        reads_per_layer[r.layer] = reads_per_layer.get(r.layer, 0) + 1
    stale_per_layer: dict[int, int] = {}
    for s in stale:
        stale_per_layer[s.read.layer] = stale_per_layer.get(s.read.layer, 0) + 1
    by_layer: dict[str, dict[str, Any]] = {}
    for layer in sorted({*(int(x) for x in Layer), *reads_per_layer}):
        n = reads_per_layer.get(layer, 0)
        k = stale_per_layer.get(layer, 0)
        by_layer[_layer_name(layer)] = {"reads": n, "stale": k, "stale_rate": (k / n) if n else None,
                                        "share_of_stale": (k / len(stale)) if stale else 0.0}
    details: dict[str, Any] = {
        "window_s": window_s, "phase": phase, "reads": total, "unjudged_reads": unjudged, "stale": len(stale),
        "inside_clock_uncertainty": sum(1 for s in stale_all if s.stale_at(window_s)) - len(stale),
        "clock_uncertainty_s": 2 * u_write if u_write > 0 else 0.0,
        "whole_fraction": (len(stale) / total) if total else None, "worst_span": None,
        "fractions": fractions, "stale_counts": counts,
        "ages": {"histogram": histogram(ages, AGE_EDGES), "max_s": ages[-1] if ages else None,
                 "p50_s": percentile(ages, 50), "p99_s": percentile(ages, 99)},
        "by_layer": by_layer,
        "examples": [{"key": s.read.key, "version_seen": s.read.version, "newer_version": s.newer_version,
                      "newer_acked_at": s.newer_acked_at, "read_at": s.read.invoke,
                      "layer": _layer_name(s.read.layer), "age_s": round(s.age, 6), "process": s.read.process,
                      "client": s.read.client} for s in stale[:MAX_EXAMPLES]],
    }
    value = (len(stale) / total) if total else None
    if worst_span_s is not None and total:
        start = run.window(phase).start if phase is not None else min(r.invoke for r in run.records())
        details["worst_span"] = _worst_span([r.invoke - start for r in reads],
                                            [s.read.invoke - start for s in stale], int(worst_span_s))
        value = details["worst_span"]["fraction"]
    return value, details


def _worst_span(read_at: list[float], stale_at: list[float], span_s: int) -> dict[str, Any]:
    """Every stretch of span_s whole seconds from the start, counted one by one; the first worst wins."""
    read_secs = [math.floor(t) for t in read_at]
    stale_secs = [math.floor(t) for t in stale_at]
    seconds = max(read_secs) + 1
    k = min(span_s, seconds)
    best: dict[str, Any] | None = None
    for i in range(seconds - k + 1):
        n = sum(1 for x in read_secs if i <= x < i + k)
        m = sum(1 for x in stale_secs if i <= x < i + k)
        share = m / n if n else 0.0
        if best is None or share > best["fraction"]:
            best = {"span_s": k, "start_s": i, "end_s": i + k, "reads": n, "stale": m, "fraction": share}
    assert best is not None
    return {**best, "spans": seconds - k + 1}


# -- lost writes -----------------------------------------------------------------------------------

LOST_WRITE_OPS: dict[str, frozenset[int]] = {"cart": frozenset({int(Op.CART_WRITE)}), "product": _WRITE_OPS}
FINAL_READ_LAYER = {"cart": 1, "product": 2}


def lost_writes(run: ReferenceRun, op: str) -> tuple[float | None, dict[str, Any]]:
    final: dict[int, int | None] = {}
    for r in run.records(ops=[Op.FINAL_READ]):
        if r.layer != FINAL_READ_LAYER[op]:
            continue
        if 200 <= r.status < 300 and r.version >= 0:
            final[r.key] = r.version
        elif r.status == 404:
            final[r.key] = -1
        else:
            final.setdefault(r.key, None)
    acked = [r for r in run.records(ops=LOST_WRITE_OPS[op]) if 200 <= r.status < 300]
    acked.sort(key=lambda r: (r.complete, r.invoke))
    last_holder: dict[tuple[int, int], Record] = {}
    for r in acked:
        if r.version >= 0:
            last_holder[(r.key, r.version)] = r
    lost: list[tuple[Record, str, int | None]] = []
    unjudged = duplicates = behind = 0
    for r in acked:
        if r.version < 0:
            unjudged += 1
            continue
        stored = final.get(r.key)
        if last_holder[(r.key, r.version)] is not r:
            duplicates += 1
            lost.append((r, "duplicate_version", stored))
        elif stored is None:
            unjudged += 1
        elif stored < r.version:
            behind += 1
            lost.append((r, "missing_at_end", stored))
    judged = len(acked) - unjudged
    details: dict[str, Any] = {
        "op": op, "acknowledged": len(acked), "judged": judged, "unjudged": unjudged,
        "lost_ratio": len(lost) / judged if judged else None,
        "duplicate_versions": duplicates, "missing_at_end": behind,
        "keys_without_final_read": len({r.key for r in acked if r.key not in final}),
        "examples": [{"key": r.key, "version": r.version, "acked_at": r.complete, "reason": reason,
                      "final_version": stored, "process": r.process, "client": r.client}
                     for r, reason, stored in lost[:MAX_EXAMPLES]],
    }
    if acked and not judged:
        details["reason"] = "no final read judged any acknowledged write (see the run's notes on final reads)"
        return None, details
    return float(len(lost)), details


# -- monotonic reads -------------------------------------------------------------------------------

READ_KINDS = {int(Op.READ): "product", int(Op.CART_READ): "cart"}


def monotonic_reads(run: ReferenceRun) -> tuple[float, dict[str, Any]]:
    sequences: dict[tuple[str, int, str, int], list[Record]] = {}
    for r in run.records(ops=READ_KINDS):
        if 200 <= r.status < 300 and r.version >= 0:
            sequences.setdefault((r.process, r.client, READ_KINDS[r.op], r.key), []).append(r)
    violating = violations = 0
    examples: list[dict[str, Any]] = []
    for (process, client, kind, key), reads in sequences.items():
        by_complete = sorted(reads, key=lambda r: r.complete)
        j = 0
        newest: Record | None = None
        bad = False
        for r in reads:
            while j < len(by_complete) and by_complete[j].complete < r.invoke:
                if newest is None or by_complete[j].version > newest.version:
                    newest = by_complete[j]
                j += 1
            if newest is not None and r.version < newest.version:
                violations += 1
                bad = True
                if len(examples) < MAX_EXAMPLES:
                    examples.append({"process": process, "client": client, "kind": kind, "key": key,
                                     "seen_version": newest.version, "seen_at": newest.complete,
                                     "later_version": r.version, "later_at": r.invoke})
        violating += bad
    return float(violating), {"sequences": len(sequences), "violating_sequences": violating,
                              "violating_reads": violations, "examples": examples}


# -- hit rates -------------------------------------------------------------------------------------

def history_rates(reads: list[Record]) -> dict[str, Any]:
    l1 = sum(1 for r in reads if r.layer == Layer.L1)
    l2 = sum(1 for r in reads if r.layer == Layer.L2)
    miss = sum(1 for r in reads if r.layer == Layer.MISS)
    total = l1 + l2 + miss
    return {"l1": ratio(l1, total), "l2": ratio(l2, l2 + miss), "any": ratio(l1 + l2, total),
            "reads": total, "counts": {"l1": l1, "l2": l2, "miss": miss},
            "without_layer": sum(1 for r in reads if r.layer == Layer.NONE)}


def hit_rate(run: ReferenceRun, layer: str, phase: str | None, hot_keys: int | None) -> tuple[float | None, dict[str, Any]]:
    def ok_reads(window: str | None) -> list[Record]:
        return [r for r in run.records(window, ops=[Op.READ]) if 200 <= r.status < 300]

    hot = frozenset(k for k, _ in Counter(r.key for r in ok_reads(None)).most_common(hot_keys)) if hot_keys else None

    def rates(window: str | None) -> dict[str, Any]:
        return history_rates([r for r in ok_reads(window) if hot is None or r.key in hot])

    overall = rates(phase)
    by_phase = {w.name: {k: rates(w.name)[k] for k in ("l1", "l2", "any")} for w in run.phases}
    details: dict[str, Any] = {"layer": layer, "phase": phase, "source": "history",
                               "by_layer": {k: overall[k] for k in ("l1", "l2", "any")},
                               "counts": overall["counts"], "by_phase": by_phase,
                               "reads": overall["reads"], "without_layer": overall["without_layer"]}
    if hot is not None:
        details["hot_keys"] = sorted(hot)
    return overall[layer], details


# -- latency ---------------------------------------------------------------------------------------

def _ms(records: list[Record], measure: str) -> list[float]:
    return [r.service_ms if measure == "service" else r.response_ms for r in records]


def latency(run: ReferenceRun, route: str, percentile_: float, phase: str | None,
            measure: str) -> tuple[float | None, dict[str, Any]]:
    records = run.records(phase)
    by_route = {name: summary(_ms([r for r in records if r.op in ops], measure)) for name, ops in ROUTES.items()}
    ops = ROUTES[route]
    by_phase = {w.name: summary(_ms(run.records(w.name, ops=ops), measure)) for w in run.phases}
    chosen = [r for r in records if r.op in ops]
    selected = sorted(_ms(chosen, measure))
    other = "service" if measure == "response" else "response"
    details = {"route": route, "percentile": percentile_, "phase": phase, "measure": measure,
               "requests": len(selected), "by_route": by_route, "by_phase": by_phase,
               other: summary(_ms(chosen, other))}
    return percentile(selected, percentile_), details


# -- per-second history series ---------------------------------------------------------------------

HISTORY_SERIES = ("rps", "error_rate", "p50_ms", "p99_ms", "l1_hit_rate", "hit_rate",
                  "layer_share:l1", "layer_share:l2", "layer_share:miss")
REQUEST_OPS = frozenset(int(op) for op in Op) - {int(Op.DISCOUNT_WRITE), int(Op.FINAL_READ), int(Op.DROPPED)}
Series = list[tuple[float, float]]


def history_series(history: Iterable[Record], start: float | None, end: float | None) -> dict[str, Series]:
    """Every history series in one pass. rps is 0 in seconds of the run without requests (an outage shows)."""

    requests: dict[int, int] = {}
    errors: dict[int, int] = {}
    latencies: dict[int, list[float]] = {}
    layers: dict[int, list[int]] = {}  # second -> [l1, l2, miss, failed]
    read_op = int(Op.READ)
    for r in history:
        if r.op not in REQUEST_OPS:
            continue
        second = math.floor(r.invoke)
        requests[second] = requests.get(second, 0) + 1
        if r.status == 0 or r.status >= 500:
            errors[second] = errors.get(second, 0) + 1
        latencies.setdefault(second, []).append(r.response_ms)
        if r.op == read_op and 200 <= r.status < 300 and Layer.L1 <= r.layer <= Layer.MISS:
            layers.setdefault(second, [0, 0, 0, 0])[r.layer - 1] += 1
        elif r.op == read_op and (r.status == 0 or r.status >= 500):
            # A read that failed was not served by any cache: hit rates count it (an outage is
            # at 0, not a gap), the layer shares of served reads do not.
            layers.setdefault(second, [0, 0, 0, 0])[3] += 1
    out: dict[str, Series] = {name: [] for name in HISTORY_SERIES}
    seconds = set(requests)
    if start is not None and end is not None and end >= start:
        seconds.update(range(math.floor(start), math.floor(end) + 1))
    for second in sorted(seconds):
        t = float(second)
        n = requests.get(second, 0)
        out["rps"].append((t, float(n)))
        if n:
            out["error_rate"].append((t, errors.get(second, 0) / n))
            ordered = sorted(latencies[second])
            out["p50_ms"].append((t, percentile(ordered, 50) or 0.0))
            out["p99_ms"].append((t, percentile(ordered, 99) or 0.0))
        served = layers.get(second)
        if served:
            reads = sum(served)
            out["l1_hit_rate"].append((t, served[0] / reads))
            out["hit_rate"].append((t, (served[0] + served[1]) / reads))
            answered = reads - served[3]
            for layer, i in (("l1", 0), ("l2", 1), ("miss", 2)):
                if answered:
                    out[f"layer_share:{layer}"].append((t, served[i] / answered))
    return out


# -- errors ----------------------------------------------------------------------------------------

def _op_name(op: int) -> str:
    try:
        return Op(op).name.lower()
    except ValueError:
        return str(op)


def error_rate(run: ReferenceRun, phase: str | None) -> tuple[float | None, dict[str, Any]]:
    requests = run.records(phase, ops=REQUEST_OPS)
    by_status: dict[str, int] = {}
    by_op: dict[str, dict[str, int]] = {}
    errors = 0
    for r in requests:
        by_status[str(r.status)] = by_status.get(str(r.status), 0) + 1
        entry = by_op.setdefault(_op_name(r.op), {"requests": 0, "errors": 0})
        entry["requests"] += 1
        if r.status == 0 or r.status >= 500:
            errors += 1
            entry["errors"] += 1
    details = {"phase": phase, "requests": len(requests), "errors": errors,
               "by_status": dict(sorted(by_status.items())), "by_op": by_op}
    return (errors / len(requests) if requests else None), details


# -- failover and oversell -------------------------------------------------------------------------

_FAILOVER_WRITES = {"cart": (int(Op.CART_WRITE),), "product": (int(Op.WRITE),)}


def _sustained_success(writes: list[Record], after: float, hold_s: float, end: float) -> Record | None:
    failures = [r.invoke for r in writes if not r.ok]
    j = 0
    for r in writes:
        if not r.ok or r.invoke <= after:
            continue
        while j < len(failures) and failures[j] <= r.invoke:
            j += 1
        calm_until = failures[j] if j < len(failures) else end
        if calm_until > r.invoke + hold_s:
            return r
    return None


def failover_time(run: ReferenceRun, op: str, hold_s: float) -> tuple[float | None, dict[str, Any]]:
    windows = [f for f in run.run.faults if f.ok]
    if not windows:
        return None, {"reason": "no fault was injected"}
    start = windows[0].start
    writes = [r for r in run.records(ops=_FAILOVER_WRITES[op]) if r.invoke >= start]
    first_failure = next((r for r in writes if not r.ok), None)
    details: dict[str, Any] = {"fault": windows[0].name, "fault_at": start, "op": op, "hold_s": hold_s,
                               "writes_after_fault": len(writes)}
    if first_failure is None:
        details["reason"] = "no effect: no write failed after the fault, so there was no failover to time"
        details["effect"] = False
        return None, details
    recovered = _sustained_success(writes, first_failure.invoke, hold_s, run.run.end)
    details.update(first_failure_at=first_failure.invoke, failed_writes=sum(1 for r in writes if not r.ok),
                   effect=True)
    if recovered is None:
        details["reason"] = f"writes never succeeded for {hold_s:g} s without a failure within the run"
        return None, details
    details["write_outage_s"] = round(recovered.complete - first_failure.invoke, 3)
    return recovered.complete - start, details


def oversell(run: ReferenceRun, stock: int) -> tuple[float, dict[str, Any]]:
    accepted: dict[int, int] = {}
    orders: dict[int, int] = {}
    for r in run.records(ops=[Op.ORDER]):
        if r.status == 201:
            accepted[r.key] = accepted.get(r.key, 0) + max(r.version, 0)
            orders[r.key] = orders.get(r.key, 0) + 1
    oversold = {key: units - stock for key, units in accepted.items() if units > stock}
    worst = sorted(oversold.items(), key=lambda kv: (-kv[1], kv[0]))[:50]
    return float(sum(oversold.values())), {
        "stock": stock, "products_ordered": len(accepted), "units_accepted": sum(accepted.values()),
        "products_oversold": len(oversold),
        "per_product": [{"product": key, "accepted_units": accepted[key], "accepted_orders": orders[key],
                         "oversold_units": units} for key, units in worst]}
