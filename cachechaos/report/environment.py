"""The environment section: what ran, where, with which binaries, configuration and seeds (secrets masked)."""

from __future__ import annotations

import json
from typing import Any

from cachechaos.redact import redact


def _pretty(value: Any) -> str | None:
    if value in (None, {}, []):
        return None
    return json.dumps(value, indent=2, sort_keys=False, default=str)


def environment_view(run_info: dict[str, Any]) -> dict[str, Any]:
    """run.json, redacted again here: a report may be mailed, and run.json may come from an older toolkit."""
    info = redact(run_info)
    experiment = info.get("experiment") or {}
    toolkit = info.get("toolkit") or {}
    binaries = info.get("binaries") or {}
    rows = []
    for name, b in binaries.items() if isinstance(binaries, dict) else ():
        if isinstance(b, dict):
            rows.append({"name": name, "version": b.get("version"), "path": b.get("path"), "source": b.get("source")})
        else:
            rows.append({"name": name, "version": str(b), "path": None, "source": None})
    return {
        "version": toolkit.get("version"),
        "git_commit": toolkit.get("git_commit"),
        "binaries": rows,
        "experiment_file": experiment.get("file"),
        "experiment_text": experiment.get("text"),
        "variant": experiment.get("variant"),
        "seeds": info.get("seeds") or {},
        "topology": _pretty(info.get("topology")),
        "backend": _pretty(info.get("backend")),
        "endpoints": _pretty(info.get("endpoints")),
        "topology_kind": (info.get("topology") or {}).get("kind") if isinstance(info.get("topology"), dict) else None,
    }
