"""The last lines of the logs of the nodes that matter when a run went wrong.

Those are the nodes a fault acted on, and any node whose log shows errors. Only the tail of each
log is read, so a multi-gigabyte log costs no more than a small one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cachechaos.redact import redact_text

TAIL_LINES = 40
_TAIL_BYTES = 64 * 1024
ERROR_LINE = re.compile(r"\b(error|fatal|panic|critical|traceback|exception)\b", re.IGNORECASE)


def tail(path: Path, lines: int = TAIL_LINES) -> list[str]:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - _TAIL_BYTES))
            data = f.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace").splitlines()
    if size > _TAIL_BYTES:
        text = text[1:]  # the first line was cut by the seek
    return text[-lines:]


def _log_file(node_dir: Path) -> Path | None:
    own = node_dir / f"{node_dir.name}.log"
    if own.is_file():
        return own
    logs = sorted(node_dir.glob("*.log"))
    return logs[0] if logs else None


def _named_in(node: str, targets: Iterable[str]) -> bool:
    """A fault target names a node ('redis-1') or a link through it ('backend-1->redis-1'), or all backends."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(node)}(?![\w-])")
    return any(pattern.search(t) or (t == "backends" and node.startswith("backend")) for t in targets)


def involved_logs(run_dir: Path, fault_targets: Iterable[str], lines: int = TAIL_LINES) -> list[dict[str, Any]]:
    """Log tails of nodes named by a fault, then of nodes whose tail has errors; secrets masked."""
    targets = [t for t in fault_targets if t]
    out: list[dict[str, Any]] = []
    nodes_dir = run_dir / "nodes"
    if not nodes_dir.is_dir():
        return out
    for node_dir in sorted(p for p in nodes_dir.iterdir() if p.is_dir()):
        log = _log_file(node_dir)
        if log is None:
            continue
        text = [redact_text(line) for line in tail(log, lines)]
        error_lines = sum(1 for line in text if ERROR_LINE.search(line))
        named = _named_in(node_dir.name, targets)
        if not (named or error_lines):
            continue
        reasons = (["named in a fault"] if named else []) + ([f"{error_lines} error line(s)"] if error_lines else [])
        out.append({
            "node": node_dir.name, "path": str(log.relative_to(run_dir)), "reason": ", ".join(reasons),
            "lines": [{"text": line, "error": bool(ERROR_LINE.search(line))} for line in text],
            "named": named,
        })
    out.sort(key=lambda entry: (not entry["named"], entry["node"]))
    return out
