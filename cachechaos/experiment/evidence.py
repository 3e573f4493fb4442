"""Why a check measured nothing: the sources the sampler could not read, matched to the checks that need them.

A verdict without a measurement still fails (docs/definitions.md: a check with no evidence never passes by
default); this module only makes the summary say which source was missing and why, e.g. an
external topology without a PostgreSQL DSN cannot measure `db_amplification` from pg_stat_database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Sampled series -> the sampler source (a gap name prefix) it is computed from.
SERIES_SOURCE = {"l2_hit_rate": "redis", "evicted_keys_per_s": "redis", "redis_ops": "redis",
                 "db_qps": "postgres", "backend_db_qps": "backend-"}


def sources_needed(check: str, params: Mapping[str, Any]) -> list[str]:
    """Gap-name prefixes of the sampled sources `check` reads (empty: it reads the history only)."""
    if check == "db_amplification":
        return ["backend-"] if params.get("source") == "backend" else ["postgres"]
    if check == "hit_rate" and params.get("source") == "metrics":
        return ["backend-"] if params.get("layer") == "l1" else ["redis"]
    if check in ("recovery_time", "series_stat"):
        default = "l2_hit_rate" if check == "recovery_time" else "db_qps"
        source = SERIES_SOURCE.get(str(params.get("metric", default)))
        return [source] if source else []
    return []


def explain_unmeasured(verdicts: list[dict[str, Any]], gaps: Mapping[str, str]) -> None:
    """Add `details.not_measured` to every verdict without a measurement: the check's own reason and
    the sampler gaps of the sources it needs."""
    for verdict in verdicts:
        if verdict.get("measured") is not None:
            continue
        details = verdict.setdefault("details", {})
        needed = sources_needed(str(verdict.get("check")), verdict.get("params") or {})
        missing = [f"{source}: {reason}" for source, reason in gaps.items()
                   if any(source.startswith(prefix) for prefix in needed)]
        own = details.get("reason") or details.get("error")
        parts = ([str(own)] if own else []) + missing
        details["not_measured"] = "; ".join(parts) or "the check found no evidence in this run"


def notes(gaps: Mapping[str, str], final_reads: Mapping[str, str] | None) -> list[str]:
    """Lines for the summary: what was not sampled, and how the final reads reached the source of truth."""
    out = [f"not sampled: {source}: {reason}" for source, reason in gaps.items()]
    if final_reads:
        out += [f"final reads of {kind}: {how}" for kind, how in final_reads.items()]
    return out
