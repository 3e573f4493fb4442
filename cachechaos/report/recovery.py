"""The recovery section: for each recovery_time criterion, its metric's curve, baseline band and result."""

from __future__ import annotations

from typing import Any

from cachechaos.report import fmt

# Series whose values are ratios (shown as percentages on the chart).
_RATIO_METRICS = ("hit_rate", "error_rate", "layer_share")


def _is_ratio(metric: str) -> bool:
    return any(key in metric for key in _RATIO_METRICS)


def recovery_views(verdicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One chart per recovery verdict that carries its curve (the check's details)."""
    out: list[dict[str, Any]] = []
    for k, v in enumerate(verdicts):
        if v.get("check") != "recovery_time":
            continue
        d = v.get("details") or {}
        curve = [p for p in d.get("curve") or [] if isinstance(p, list | tuple) and len(p) == 2 and p[1] is not None]
        metric = str(d.get("metric") or v.get("params", {}).get("metric") or "metric")
        fault_end, recovered_at = d.get("fault_end"), d.get("recovered_at")
        view: dict[str, Any] = {
            "name": v.get("name"), "passed": bool(v.get("passed")), "metric": metric,
            "measured": fmt.measured(v.get("measured"), v.get("unit", "s")),
            "threshold": fmt.threshold(v.get("threshold"), v.get("unit", "s")),
            "after": d.get("after"), "recovered": bool(d.get("recovered")),
            "reason": d.get("reason") or (d.get("error") if isinstance(d.get("error"), str) else None),
            "baseline_mean": d.get("baseline_mean"), "band_threshold": d.get("threshold"),
            "band": d.get("band"), "direction": d.get("direction", "above"), "hold_s": d.get("hold_s"),
            "ratio": _is_ratio(metric), "chart": None,
        }
        if curve:
            view["chart"] = {
                "id": f"recovery_{k}", "kind": "recovery", "title": f"{metric} around {d.get('after') or 'the fault'}",
                "unit": "%" if view["ratio"] else metric, "percent": view["ratio"],
                "x": [float(p[0]) for p in curve], "values": [float(p[1]) for p in curve],
                "baseline": d.get("baseline_mean"), "threshold": d.get("threshold"),
                "direction": view["direction"],
                "recovered_x": (recovered_at - fault_end) if isinstance(recovered_at, int | float)
                and isinstance(fault_end, int | float) else None,
                "hold_s": d.get("hold_s"),
            }
        out.append(view)
    return out
