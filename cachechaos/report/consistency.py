"""The consistency section: stale fractions by window, ages, serving layers and examples of stale reads."""

from __future__ import annotations

from typing import Any

from cachechaos.checks import CHECKS
from cachechaos.checks.rundata import RunData
from cachechaos.report import fmt

LAYER_NAMES = {"l1": "L1 (in-process)", "l2": "L2 (Redis)", "miss": "DB (cache miss)", "none": "unknown (no X-Cache)"}


def _age_label(lo: float, hi: float | None) -> str:
    """Short enough for eleven bins to fit under a chart on a printed page: <10ms, 10-100ms, 0.5-1s, >=300s."""
    if hi is None:
        return f"\u2265{lo:g}s"
    if lo == 0:
        return f"<{hi * 1000:g}ms" if hi < 1 else f"<{hi:g}s"
    if hi <= 0.5:
        return f"{lo * 1000:g}\u2013{hi * 1000:g}ms"
    return f"{lo:g}\u2013{hi:g}s"


def consistency_view(run: RunData) -> dict[str, Any]:
    """Everything the section shows, from the stale_read_rate check over the whole run (window 0)."""
    try:
        # The section shows whatever could be judged, and how many reads could not.
        m = CHECKS["stale_read_rate"](run, window_s=0.0, max_unjudged=1.0)
    except Exception as exc:  # a broken history must not cost the rest of the report
        return {"error": f"{type(exc).__name__}: {exc}"}
    d = m.details
    reads = int(d.get("reads") or 0)
    fractions: dict[str, float | None] = d.get("fractions") or {}
    counts: dict[str, int] = d.get("stale_counts") or {}
    windows = [{
        "window": f"{float(w):g} s", "fraction": f, "count": counts.get(w, 0),
        "fresh": None if f is None else 1.0 - f, "nines": fmt.nines(f),
    } for w, f in sorted(fractions.items(), key=lambda kv: float(kv[0]))]
    ages = d.get("ages") or {}
    bins = ages.get("histogram") or []
    age_chart = {
        "id": "stale_ages", "kind": "bars", "title": "Age of stale reads", "unit": "", "label": "stale reads",
        "note": "time from the acknowledgement of the newer write to the stale read",
        "labels": [_age_label(b["lo"], b["hi"]) for b in bins], "values": [b["count"] for b in bins],
    }
    layers = [{
        "layer": LAYER_NAMES.get(name, name), "reads": row.get("reads", 0), "stale": row.get("stale", 0),
        "stale_rate": row.get("stale_rate"), "share": row.get("share_of_stale"),
    } for name, row in (d.get("by_layer") or {}).items()]
    start = run.start
    examples = [{
        **ex,
        "read_rel": fmt.offset(ex.get("read_at"), start),
        "acked_rel": fmt.offset(ex.get("newer_acked_at"), start),
        "layer_name": LAYER_NAMES.get(str(ex.get("layer")), ex.get("layer")),
    } for ex in d.get("examples") or []]
    return {
        "reads": reads, "stale": int(d.get("stale") or 0), "unjudged": int(d.get("unjudged_reads") or 0),
        "windows": windows, "age_chart": age_chart if any(age_chart["values"]) else None,
        "age_p50": ages.get("p50_s"), "age_p99": ages.get("p99_s"), "age_max": ages.get("max_s"),
        "layers": layers, "examples": examples,
    }
