"""The history as columns: one NumPy array per record field, every process's records in invoke order.

A run of an hour at 20,000 req/s holds 72 M records. As `Record` tuples that is tens of GB and
minutes of Python; as columns it is 49 bytes a record and the checks run as array operations.
The file format is unchanged (format.py): a file is already an array of fixed-size records, so
it is read with `numpy.fromfile` in chunks, each chunk scattered into the columns, so that the
memory needed beyond the columns is one chunk whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from cachechaos.history.format import _MAGIC_V1, MAGIC, RECORD, Record
from cachechaos.store.rundir import HISTORY_DIR

# The same layouts as format.RECORD and the first format's record (packed, little-endian).
RECORD_DTYPE = np.dtype([("invoke", "<f8"), ("complete", "<f8"), ("key", "<i8"), ("version", "<i8"),
                         ("client", "<u4"), ("status", "<u2"), ("op", "u1"), ("layer", "u1"),
                         ("intended", "<f8")])
RECORD_DTYPE_V1 = np.dtype([("invoke", "<f8"), ("complete", "<f8"), ("key", "<i8"), ("version", "<i8"),
                            ("client", "<u4"), ("status", "<u2"), ("op", "u1"), ("layer", "u1")])
assert RECORD_DTYPE.itemsize == RECORD.size

FIELDS = ("invoke", "complete", "key", "version", "client", "status", "op", "layer", "intended")
CHUNK_RECORDS = 1 << 20  # 48 MB of records read at a time
TIMES_BLOCK = 1 << 22  # records whose times are taken at a time

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Mask = NDArray[np.bool_]
Index = NDArray[np.intp]


def file_layout(head: bytes, path: Path) -> np.dtype:
    """The record dtype a history file's magic announces."""
    if head.startswith(MAGIC):
        return RECORD_DTYPE
    if head.startswith(_MAGIC_V1):
        return RECORD_DTYPE_V1
    raise ValueError(f"{path} is not a cachechaos history file")


def read_records(f: BinaryIO, dtype: np.dtype, limit: int) -> NDArray[np.void]:
    """Up to `limit` whole records from the file's position (a torn last record is left unread)."""
    n = min(limit, CHUNK_RECORDS)
    data = f.read(n * dtype.itemsize)
    usable = len(data) - len(data) % dtype.itemsize
    if usable < len(data):
        f.seek(usable - len(data), 1)  # the torn tail stays for the next read (a writer may finish it)
    return np.frombuffer(data[:usable], dtype=dtype)


@dataclass(frozen=True)
class Columns:
    """Records as parallel arrays; `process` indexes `processes` (the history file stems)."""

    invoke: Floats
    complete: Floats
    key: Ints
    version: Ints
    client: NDArray[np.uint32]
    status: NDArray[np.uint16]
    op: NDArray[np.uint8]
    layer: NDArray[np.uint8]
    intended: Floats      # 0: not recorded (in-memory records of tests), taken as invoke
    process: NDArray[np.uint16]
    processes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.invoke)

    # -- derived columns ---------------------------------------------------------------------------

    @property
    def ok(self) -> Mask:
        return (self.status >= 200) & (self.status < 300)

    @property
    def due(self) -> Floats:
        """When each request was due: the intended send time, else the actual one (Record.due)."""
        return np.where(self.intended != 0, self.intended, self.invoke)

    def response_ms(self, which: Index | Mask | slice = slice(None)) -> Floats:
        """Response times (ms) of the records at `which` (all by default)."""
        return self._times_ms(which, response=True)

    def service_ms(self, which: Index | Mask | slice = slice(None)) -> Floats:
        """Service times (ms) of the records at `which` (all by default)."""
        return self._times_ms(which, response=False)

    def _times_ms(self, which: Index | Mask | slice, response: bool) -> Floats:
        # A block of records at a time: beyond the result, memory holds one block's times (taking
        # the times of a catalog's tens of millions of requests at once would hold three copies).
        complete, invoke, intended = self.complete, self.invoke, self.intended
        if isinstance(which, slice):
            complete, invoke, intended = complete[which], invoke[which], intended[which]  # views
            which = np.ones(len(complete), dtype=bool)
        is_mask = which.dtype == np.bool_
        out = np.empty(int(np.count_nonzero(which)) if is_mask else len(which))
        at = 0
        for lo in range(0, len(which), TIMES_BLOCK):
            part = which[lo:lo + TIMES_BLOCK]
            if is_mask:
                part = lo + np.flatnonzero(part)
            sent = invoke[part]
            if response:
                due = intended[part]
                sent = np.where(due != 0, due, sent)
            block = out[at:at + len(part)]
            np.subtract(complete[part], sent, out=block)
            block *= 1000.0
            at += len(part)
        return out

    def of_ops(self, ops: Iterable[int]) -> Mask:
        # A 256-entry table indexed by the op byte: one pass, no sort (np.isin may sort the whole column).
        table = np.zeros(256, dtype=bool)
        table[[int(o) for o in ops]] = True
        return table[self.op]

    # -- selections --------------------------------------------------------------------------------

    def take(self, which: Index | Mask | slice) -> Columns:
        """The records at `which` (indices, a mask or a slice), in that order."""
        picked = {name: getattr(self, name)[which] for name in (*FIELDS, "process")}
        return Columns(**picked, processes=self.processes)

    def between(self, start: float, end: float) -> Columns:
        """Records invoked in [start, end) (the columns are in invoke order): views, no copy."""
        lo, hi = np.searchsorted(self.invoke, [start, end], side="left")
        return self.take(slice(int(lo), int(hi)))

    def record(self, i: int) -> Record:
        return Record(float(self.invoke[i]), float(self.complete[i]), int(self.key[i]), int(self.version[i]),
                      int(self.client[i]), int(self.status[i]), int(self.op[i]), int(self.layer[i]),
                      self.processes[self.process[i]], float(self.intended[i]))

    def records(self) -> list[Record]:
        """Every record as a `Record` (for the readers that want objects: only on small selections)."""
        names = self.processes
        return [Record(invoke, complete, key, version, client, status, op, layer, names[process], intended)
                for invoke, complete, key, version, client, status, op, layer, intended, process in zip(
                    *(getattr(self, name).tolist() for name in (*FIELDS, "process")), strict=True)]

    # -- building ----------------------------------------------------------------------------------

    @classmethod
    def concat(cls, parts: Sequence[Columns]) -> Columns:
        """Parts one after the other (not re-sorted). Their process names must extend one another (as a
        HistoryTail's do: it only ever adds files); the longest list names them all."""
        processes = max((c.processes for c in parts), key=len, default=())
        return cls(**{name: np.concatenate([getattr(c, name) for c in parts]) if parts
                      else np.empty(0, dtype=RECORD_DTYPE[name] if name in FIELDS else np.uint16)
                      for name in (*FIELDS, "process")}, processes=processes)

    @classmethod
    def from_records(cls, records: Sequence[Record]) -> Columns:
        """In-memory records, stably sorted by invoke (as RunData.build sorted them)."""
        processes = tuple(dict.fromkeys(r.process for r in records))
        index = {name: i for i, name in enumerate(processes)}
        array = np.array([(r.invoke, r.complete, r.key, r.version, r.client, r.status, r.op, r.layer, r.intended)
                          for r in records], dtype=RECORD_DTYPE)
        cols: dict[str, NDArray[np.generic]] = {name: np.ascontiguousarray(array[name]) for name in FIELDS}
        process = np.fromiter((index[r.process] for r in records), dtype=np.uint16, count=len(records))
        return cls._sorted(cols, process, processes)

    @classmethod
    def _sorted(cls, cols: dict[str, NDArray[np.generic]], process: NDArray[np.uint16],
                processes: tuple[str, ...]) -> Columns:
        invoke: Floats = cols["invoke"]  # type: ignore[assignment]
        if len(invoke) and not bool(np.all(invoke[1:] >= invoke[:-1])):
            # Stable, so records of equal invoke keep file order then record order (as list.sort did).
            order = np.argsort(invoke, kind="stable")
            del invoke  # else the unsorted column outlives its replacement (8 bytes a record at the peak)
            for name in FIELDS:
                cols[name] = cols[name][order]
            process = process[order]
            del order
        return cls(**cols, process=process, processes=processes)  # type: ignore[arg-type]


def history_files(run_dir: Path) -> list[Path]:
    return sorted((Path(run_dir) / HISTORY_DIR).glob("*.hist"))


def read_columns(run_dir: Path) -> Columns:
    """Every record of every load process of a run, in invoke order (what format.read_history returns)."""
    paths = history_files(run_dir)
    sizes: list[tuple[Path, int]] = []
    for path in paths:
        with open(path, "rb") as f:
            dtype = file_layout(f.read(len(MAGIC)), path)
        sizes.append((path, (path.stat().st_size - len(MAGIC)) // dtype.itemsize))
    total = sum(n for _, n in sizes)
    cols: dict[str, NDArray[np.generic]] = {name: np.empty(total, dtype=RECORD_DTYPE[name]) for name in FIELDS}
    process = np.empty(total, dtype=np.uint16)
    at = 0
    for i, (path, n) in enumerate(sizes):
        for chunk in file_chunks(path, n):
            for name in FIELDS:
                cols[name][at:at + len(chunk)] = field(chunk, name)
            process[at:at + len(chunk)] = i
            at += len(chunk)
    if at < total:  # a file shrank under us: keep what was read
        cols = {name: col[:at] for name, col in cols.items()}
        process = process[:at]
    return Columns._sorted(cols, process, tuple(p.stem for p in paths))


def file_chunks(path: Path, limit: int | None = None) -> Iterator[NDArray[np.void]]:
    """A history file's records (the first `limit`; None: all), a chunk at a time: memory of one chunk."""
    with open(path, "rb") as f:
        dtype = file_layout(f.read(len(MAGIC)), path)
        left = -1 if limit is None else limit
        while left:
            chunk = read_records(f, dtype, CHUNK_RECORDS if left < 0 else left)
            if not len(chunk):
                return
            yield chunk
            left -= len(chunk) if left > 0 else 0


def field(chunk: NDArray[np.void], name: str) -> NDArray[np.generic]:
    """A field of records read from a file; records of the first format take their invoke as intended."""
    return chunk["invoke" if name == "intended" and name not in (chunk.dtype.names or ()) else name]


class HistoryTail:
    """Reads what the load processes appended to a run's history since the last call.

    The live view follows a run with it: each call costs the new records only, however long the run.
    A record torn by a flush in progress is left for the next call.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._files: dict[Path, tuple[BinaryIO, np.dtype, int]] = {}

    def read_new(self) -> Columns:
        arrays: list[NDArray[np.void]] = []
        process: list[NDArray[np.uint16]] = []
        for path in history_files(self.run_dir):
            if path not in self._files and not self._open(path):
                continue
            f, dtype, index = self._files[path]
            while len(chunk := read_records(f, dtype, CHUNK_RECORDS)):
                arrays.append(chunk)
                process.append(np.full(len(chunk), index, dtype=np.uint16))
        names = tuple(p.stem for p in self._files)
        cols: dict[str, NDArray[np.generic]] = {
            name: np.concatenate([field(a, name) for a in arrays]) if arrays else np.empty(0, dtype=RECORD_DTYPE[name])
            for name in FIELDS}
        return Columns._sorted(cols, np.concatenate(process) if process else np.empty(0, dtype=np.uint16), names)

    def _open(self, path: Path) -> bool:
        f = open(path, "rb")  # noqa: SIM115 - kept open between calls, closed in close()
        head = f.read(len(MAGIC))
        if len(head) < len(MAGIC):  # the writer has not written the magic yet
            f.close()
            return False
        self._files[path] = (f, file_layout(head, path), len(self._files))
        return True

    def close(self) -> None:
        for f, _, _ in self._files.values():
            f.close()
        self._files.clear()
