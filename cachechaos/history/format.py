"""The history file format: fixed-size binary records, one file per load process.

At 5,000 req/s a JSON object per request costs more than the request; a
48-byte record costs a struct.pack. Layout (little-endian, no padding):

    invoke    float64  unix seconds when the request was actually sent
    complete  float64  unix seconds when the response (or error) came back
    key       int64    product id, user id (carts), category id (discount op)
    version   int64    version seen (reads) or committed (writes); -1 when unknown
    client    uint32   client (simulated user) id, unique within the process
    status    uint16   HTTP status; 0 = no response (connection error, timeout)
    op        uint8    Op
    layer     uint8    Layer (X-Cache of a read)
    intended  float64  unix seconds when the request was due: the open model's scheduled
                       arrival; equal to invoke for closed-model users and one-off requests

Times come from `cachechaos.history.clock` (a monotonic clock anchored to the
wall clock once per process): durations within a process are monotonic, and
ordering across processes follows the wall clock. Response time is complete -
intended (what a user arriving at the intended time waited, coordinated
omission included); service time is complete - invoke.

A file starts with MAGIC and is appended to as the run goes, so a crashed
run leaves every record flushed before the crash readable; a torn last record
is ignored. Files of the first format (CCHIST01, 40 bytes, no intended time)
are still read, with intended = invoke.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from enum import IntEnum
from pathlib import Path
from typing import NamedTuple

from cachechaos.store.rundir import HISTORY_DIR

MAGIC = b"CCHIST02"
RECORD = struct.Struct("<ddqqIHBBd")
_MAGIC_V1 = b"CCHIST01"
_RECORD_V1 = struct.Struct("<ddqqIHBB")
UNKNOWN_VERSION = -1


class Op(IntEnum):
    READ = 1          # GET /products/{id}
    WRITE = 2         # PUT /products/{id}: the committed version
    DISCOUNT = 3      # POST /categories/{id}/discount (the request; key = category)
    DISCOUNT_WRITE = 4  # one per product updated by a discount, with the discount's timing
    ORDER = 5         # POST /orders (key = product, version = qty)
    CART_READ = 6     # GET /carts/{user}
    CART_WRITE = 7    # PUT /carts/{user}
    ABSENT_READ = 8   # GET /products/{id} of an id that does not exist
    FINAL_READ = 9    # read of the source of truth after the run (lost-write checks)
    DROPPED = 10      # an open-model arrival never sent: max_in_flight was full (key = the Op it would have been)


class Layer(IntEnum):
    NONE = 0
    L1 = 1
    L2 = 2
    MISS = 3

    @classmethod
    def from_header(cls, value: str | None) -> Layer:
        return _LAYER_BY_HEADER.get((value or "").lower(), cls.NONE)


_LAYER_BY_HEADER = {"l1": Layer.L1, "l2": Layer.L2, "miss": Layer.MISS}

# Ops that commit a new version of a product (what staleness is judged against).
PRODUCT_WRITES = frozenset({Op.WRITE, Op.DISCOUNT_WRITE})


class Record(NamedTuple):
    invoke: float
    complete: float
    key: int
    version: int
    client: int
    status: int
    op: int
    layer: int
    process: str = ""
    intended: float = 0.0  # 0: not recorded (in-memory records of tests), taken as invoke

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def due(self) -> float:
        """When the request was due: the intended send time, else the actual one."""
        return self.intended or self.invoke

    @property
    def response_ms(self) -> float:
        """From the intended send time to completion: what the user waited."""
        return (self.complete - (self.intended or self.invoke)) * 1000.0

    @property
    def service_ms(self) -> float:
        """From the actual send to completion: what the server (and network) took."""
        return (self.complete - self.invoke) * 1000.0


def read_history_file(path: Path) -> Iterator[Record]:
    data = path.read_bytes()
    process = path.stem
    if data.startswith(_MAGIC_V1):
        body = memoryview(data)[len(_MAGIC_V1):]
        usable = len(body) - len(body) % _RECORD_V1.size
        for fields in _RECORD_V1.iter_unpack(body[:usable]):
            yield Record._make((*fields, process, fields[0]))
        return
    if not data.startswith(MAGIC):
        raise ValueError(f"{path} is not a cachechaos history file")
    body = memoryview(data)[len(MAGIC):]
    usable = len(body) - len(body) % RECORD.size  # a torn last record from a crash
    for invoke, complete, key, version, client, status, op, layer, intended in RECORD.iter_unpack(body[:usable]):
        yield Record(invoke, complete, key, version, client, status, op, layer, process, intended)


def read_history(run_dir: Path) -> list[Record]:
    """Every record of every load process of a run, in invoke order."""
    records: list[Record] = []
    for path in sorted((Path(run_dir) / HISTORY_DIR).glob("*.hist")):
        records.extend(read_history_file(path))
    records.sort(key=lambda r: r.invoke)
    return records
