"""The journal: every edge of a run, one JSON object per line (layout in cachechaos.store.rundir)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any


class Journal:
    """Append-only, line-flushed: the last edge before a crash is on disk."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._file = open(path, "a", buffering=1)  # noqa: SIM115 - closed in close()

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        entry = {"t": time.time(), "event": event, **fields}
        with self._lock:
            self._file.write(json.dumps(entry, default=str) + "\n")
        return entry

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        self._file.close()
