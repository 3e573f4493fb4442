"""Appending history records as the run goes, cheaply enough for the request path."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from cachechaos.history.format import MAGIC, RECORD


def _os_lock() -> threading.Lock:
    """A lock of the OS's, also in a gevent-patched load process.

    `record` holds its lock only to append to a buffer and never yields while holding it, so an OS
    lock is safe between greenlets; gevent's patched `threading.Lock` is a semaphore that cost
    about 2% of a load process's CPU taken and released once per request.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        lock: threading.Lock = monkey.get_original("threading", "Lock")()
        return lock
    return threading.Lock()


class HistoryWriter:
    """One per load process. `record` packs into a buffer; the buffer reaches disk every `flush_every` s."""

    def __init__(self, path: Path, flush_every: float = 1.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        if self._file.tell() == 0:
            self._file.write(MAGIC)
        self._buffer = bytearray()
        self._lock = _os_lock()
        self._flush_every = flush_every
        self._last_flush = time.monotonic()
        self.count = 0

    def record(self, invoke: float, complete: float, op: int, key: int, version: int, layer: int, status: int,
               client: int = 0, intended: float | None = None) -> None:
        packed = RECORD.pack(invoke, complete, key, version, client, status, op, layer,
                             invoke if intended is None else intended)
        with self._lock:
            self._buffer += packed
            self.count += 1
            if time.monotonic() - self._last_flush > self._flush_every:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._buffer:
            # Whole records only, so a reader (or a crash) never sees half of one.
            self._file.write(self._buffer)
            self._buffer.clear()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        self.flush()
        self._file.close()


class ChunkWriter(HistoryWriter):
    """Records packed exactly as HistoryWriter packs them, kept in memory until `take()`.

    A load worker may run on another machine than the run directory: it ships its
    records to the master in chunks (traffic/worker.py), and the master appends
    them to history/<process>.hist.
    """

    def __init__(self) -> None:  # no file: deliberately not HistoryWriter.__init__
        self.path = None  # type: ignore[assignment]
        self._buffer = bytearray()
        self._lock = _os_lock()
        self._flush_every = float("inf")
        self._last_flush = time.monotonic()
        self.count = 0

    def take(self) -> tuple[bytes, int]:
        """The records packed since the last take (whole records) and the running record count."""
        with self._lock:
            data = bytes(self._buffer)
            self._buffer.clear()
            return data, self.count

    def _flush_locked(self) -> None:
        self._last_flush = time.monotonic()

    def close(self) -> None:
        pass
