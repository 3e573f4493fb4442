"""stale_read_rate: the share of reads that returned a version older than an acknowledged write."""

from __future__ import annotations

from typing import Any

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.checks.staleness import StaleRead, is_judged_read
from cachechaos.checks.stats import histogram, percentile, rounded
from cachechaos.history.format import Layer, Op

REPORTED_WINDOWS = (0.0, 1.0, 10.0, 60.0)
AGE_EDGES = (0.0, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
MAX_EXAMPLES = 20


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
                    max_unjudged: float = MAX_UNJUDGED) -> Measurement:
    """Stale fraction at `window_s` among successful product READs (invoked in `phase` if given).

    A read is stale at window w iff a successful write of its key with a higher version was
    acknowledged before (read invoke - w). Writes from any phase count: a write acknowledged
    before the phase began still makes a read inside it stale. When more than `max_unjudged`
    of the successful reads reported no version the check raises (an error verdict), because
    leaving them out of both counts would pass on no evidence.
    """
    window_s = float(window_s)
    if window_s < 0:
        raise ValueError(f"window_s must be >= 0, got {window_s}")
    ok_reads = [r for r in run.records(phase, ops=[Op.READ]) if 200 <= r.status < 300]
    reads = [r for r in ok_reads if is_judged_read(r)]
    unjudged = len(ok_reads) - len(reads)
    if ok_reads and unjudged / len(ok_reads) > max_unjudged:
        raise UnjudgedReads(f"{unjudged} of {len(ok_reads)} successful reads ({unjudged / len(ok_reads):.1%}) reported "
                            f"no version, above the {max_unjudged:.0%} allowed: staleness cannot be judged")
    stale_all = run.stale_reads()
    if phase is not None:
        w = run.window(phase)
        stale_all = [s for s in stale_all if w.contains(s.read.invoke)]
    total = len(reads)
    stale = [s for s in stale_all if s.stale_at(window_s)]

    windows = sorted({*REPORTED_WINDOWS, window_s})
    fractions = {f"{w:g}": (sum(1 for s in stale_all if s.stale_at(w)) / total if total else None) for w in windows}
    counts = {f"{w:g}": sum(1 for s in stale_all if s.stale_at(w)) for w in windows}

    ages = sorted(s.age for s in stale_all)
    by_layer: dict[str, dict[str, Any]] = {}
    reads_per_layer: dict[int, int] = {}
    for r in reads:
        reads_per_layer[r.layer] = reads_per_layer.get(r.layer, 0) + 1
    stale_per_layer: dict[int, int] = {}
    for s in stale:
        stale_per_layer[s.read.layer] = stale_per_layer.get(s.read.layer, 0) + 1
    # Every layer is listed, with zeros: "no stale read from L1" is a finding, not a gap.
    for layer in sorted({*(int(x) for x in Layer), *reads_per_layer}):
        n = reads_per_layer.get(layer, 0)
        k = stale_per_layer.get(layer, 0)
        by_layer[_layer_name(layer)] = {
            "reads": n, "stale": k, "stale_rate": (k / n) if n else None,
            "share_of_stale": (k / len(stale)) if stale else 0.0,
        }

    details: dict[str, Any] = {
        "window_s": window_s,
        "phase": phase,
        "reads": total,
        "unjudged_reads": unjudged,
        "stale": len(stale),
        "fractions": fractions,
        "stale_counts": counts,
        "ages": {
            "histogram": histogram(ages, AGE_EDGES),
            "max_s": ages[-1] if ages else None,
            "p50_s": percentile(ages, 50),
            "p99_s": percentile(ages, 99),
        },
        "by_layer": by_layer,
        "examples": [_example(s) for s in stale[:MAX_EXAMPLES]],
    }
    return Measurement("stale_read_rate", (len(stale) / total) if total else None, "ratio", details)


def _example(s: StaleRead) -> dict[str, Any]:
    r = s.read
    return {
        "key": r.key, "version_seen": r.version, "newer_version": s.newer_version,
        "newer_acked_at": s.newer_acked_at, "read_at": r.invoke, "layer": _layer_name(r.layer),
        "age_s": rounded(s.age), "process": r.process, "client": r.client,
    }
