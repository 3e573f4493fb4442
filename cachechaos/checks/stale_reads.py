"""stale_read_rate: the share of reads that returned a version older than an acknowledged write."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.checks.staleness import judged_reads
from cachechaos.checks.stats import byte_counts, histogram, percentile, rounded
from cachechaos.history.format import Layer, Op, Record

REPORTED_WINDOWS = (0.0, 1.0, 10.0, 60.0)
AGE_EDGES = (0.0, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
MAX_EXAMPLES = 20
_READ = int(Op.READ)


def _layer_name(layer: int) -> str:
    try:
        return Layer(layer).name.lower()
    except ValueError:
        return str(layer)


# Successful reads without a version cannot be judged; above this share of them the rate says
# more about what was left out than about what was measured.
MAX_UNJUDGED = 0.05


class UnjudgedReads(ValueError):
    """Too many successful reads carried no version: the stale rate would rest on too little evidence."""


@declares(unit="ratio")
def stale_read_rate(run: RunData, window_s: float = 0.0, phase: str | None = None,
                    max_unjudged: float = MAX_UNJUDGED, worst_span_s: float | None = None) -> Measurement:
    """Stale fraction at `window_s` among successful product READs (invoked in `phase` if given).

    With `worst_span_s` the figure is the fraction of the worst stretch of that many seconds
    (sliding by one second) instead of the whole phase's: a longer observation then contains
    every stretch a shorter one had, so it can only see more (docs/scale.md).

    A read is stale at window w iff a successful write of its key with a higher version was
    acknowledged before (read invoke - w). When the load ran on workers whose clocks were corrected
    against the master's (load/clocks.json), a read counts only when it is stale beyond the combined
    uncertainty of the clocks involved: its own process's plus the largest of any process (the
    history does not keep which process acknowledged the newer write); `inside_clock_uncertainty`
    counts the reads that fell inside it (docs/distributed-load.md). Writes from any phase count: a write acknowledged
    before the phase began still makes a read inside it stale. When more than `max_unjudged`
    of the successful reads reported no version the check raises (an error verdict), because
    leaving them out of both counts would pass on no evidence.
    """
    window_s = float(window_s)
    if window_s < 0:
        raise ValueError(f"window_s must be >= 0, got {window_s}")
    c = run.columns
    reads = run.selected(phase)  # views of the columns: masks below, no copy of a 95%-reads history
    ok_reads = int(np.count_nonzero((reads.op == _READ) & reads.ok))
    judged = judged_reads(reads)
    total = int(np.count_nonzero(judged))
    unjudged = ok_reads - total
    if ok_reads and unjudged / ok_reads > max_unjudged:
        raise UnjudgedReads(f"{unjudged} of {ok_reads} successful reads ({unjudged / ok_reads:.1%}) reported "
                            f"no version, above the {max_unjudged:.0%} allowed: staleness cannot be judged")
    stale_all = run.staleness()
    if phase is not None:
        w = run.window(phase)
        stale_all = stale_all.within(c, w.start, w.end)
    u = run.clock_uncertainty()
    u_write = float(u.max()) if len(u) else 0.0
    margin = u[c.process[stale_all.reads]] + u_write if u_write > 0 else None
    at_window = stale_all.stale_at(c, window_s, margin)
    stale = stale_all.reads[at_window]
    n_stale = len(stale)
    inside = int(np.count_nonzero(stale_all.stale_at(c, window_s))) - n_stale if margin is not None else 0

    windows = sorted({*REPORTED_WINDOWS, window_s})
    counts = {f"{w:g}": int(np.count_nonzero(stale_all.stale_at(c, w, margin))) for w in windows}
    fractions = {name: (n / total if total else None) for name, n in counts.items()}

    ages = np.sort(stale_all.ages(c))
    by_layer: dict[str, dict[str, Any]] = {}
    reads_per_layer = _per_layer(reads.layer[judged])
    stale_per_layer = _per_layer(c.layer[stale])
    # Every layer is listed, with zeros: "no stale read from L1" is a finding, not a gap.
    for layer in sorted({*(int(x) for x in Layer), *reads_per_layer}):
        n = reads_per_layer.get(layer, 0)
        k = stale_per_layer.get(layer, 0)
        by_layer[_layer_name(layer)] = {
            "reads": n, "stale": k, "stale_rate": (k / n) if n else None,
            "share_of_stale": (k / n_stale) if n_stale else 0.0,
        }

    value = (n_stale / total) if total else None
    span: dict[str, Any] | None = None
    if worst_span_s is not None and total:
        start = run.window(phase).start if phase is not None else float(reads.invoke.min())
        span = worst_span(reads.invoke[judged] - start, c.invoke[stale] - start, float(worst_span_s))
        value = span["fraction"]

    first = np.flatnonzero(at_window)[:MAX_EXAMPLES]
    details: dict[str, Any] = {
        "window_s": window_s,
        "phase": phase,
        "reads": total,
        "unjudged_reads": unjudged,
        "stale": n_stale,
        "inside_clock_uncertainty": inside,
        "clock_uncertainty_s": float(u.max()) + u_write if u_write > 0 else 0.0,
        "whole_fraction": (n_stale / total) if total else None,
        "worst_span": span,
        "fractions": fractions,
        "stale_counts": counts,
        "ages": {
            "histogram": histogram(ages, AGE_EDGES),
            "max_s": float(ages[-1]) if len(ages) else None,
            "p50_s": percentile(ages, 50),
            "p99_s": percentile(ages, 99),
        },
        "by_layer": by_layer,
        "examples": [_example(c.record(int(stale_all.reads[i])), float(stale_all.newer_acked_at[i]),
                              int(stale_all.newer_version[i])) for i in first],
    }
    return Measurement("stale_read_rate", value, "ratio", details)


def worst_span(read_at: NDArray[np.float64], stale_at: NDArray[np.float64], span_s: float) -> dict[str, Any]:
    """The stretch of `span_s` seconds (whole seconds from the start, sliding by one) with the highest
    stale share; times are seconds from the start. A run shorter than the span is one stretch."""
    if span_s < 1:
        raise ValueError(f"worst_span_s must be >= 1, got {span_s}")
    seconds = int(np.floor(read_at.max())) + 1 if len(read_at) else 1
    reads = np.bincount(np.floor(read_at).astype(np.int64), minlength=seconds)
    stale = np.bincount(np.floor(stale_at).astype(np.int64), minlength=seconds)[:seconds]
    k = min(int(span_s), seconds)
    # Reads and stale reads in every k consecutive seconds.
    read_sums = np.convolve(reads, np.ones(k, dtype=np.int64), mode="valid")
    stale_sums = np.convolve(stale, np.ones(k, dtype=np.int64), mode="valid")
    shares = np.divide(stale_sums, read_sums, out=np.zeros(len(read_sums)), where=read_sums > 0)
    i = int(np.argmax(shares))
    return {"span_s": k, "start_s": i, "end_s": i + k, "reads": int(read_sums[i]), "stale": int(stale_sums[i]),
            "fraction": float(shares[i]), "spans": len(shares)}


def _per_layer(layers: NDArray[np.uint8]) -> dict[int, int]:
    return {layer: n for layer, n in enumerate(byte_counts(layers).tolist()) if n}


def _example(r: Record, newer_acked_at: float, newer_version: int) -> dict[str, Any]:
    return {
        "key": r.key, "version_seen": r.version, "newer_version": newer_version,
        "newer_acked_at": newer_acked_at, "read_at": r.invoke, "layer": _layer_name(r.layer),
        "age_s": rounded(r.invoke - newer_acked_at), "process": r.process, "client": r.client,
    }
