"""The history file format: fixed-size binary records, one file per load process.

At 5,000 req/s a JSON object per request costs more than the request; a
40-byte record costs a struct.pack. Layout (little-endian, no padding):

    invoke    float64  unix seconds when the request was sent (time.time(): one clock per machine)
    complete  float64  unix seconds when the response (or error) came back
    key       int64    product id, user id (carts), category id (discount op)
    version   int64    version seen (reads) or committed (writes); -1 when unknown
    client    uint32   client (simulated user) id, unique within the process
    status    uint16   HTTP status; 0 = no response (connection error, timeout)
    op        uint8    Op
    layer     uint8    Layer (X-Cache of a read)

A file starts with MAGIC and is appended to as the run goes, so a crashed
run leaves every record flushed before the crash readable; a torn last record
is ignored.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from enum import IntEnum
from pathlib import Path
from typing import NamedTuple

MAGIC = b"CCHIST01"
RECORD = struct.Struct("<ddqqIHBB")
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

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def read_history_file(path: Path) -> Iterator[Record]:
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise ValueError(f"{path} is not a cachechaos history file")
    body = memoryview(data)[len(MAGIC):]
    usable = len(body) - len(body) % RECORD.size  # a torn last record from a crash
    process = path.stem
    for fields in RECORD.iter_unpack(body[:usable]):
        yield Record._make((*fields, process))


def read_history(run_dir: Path) -> list[Record]:
    """Every record of every load process of a run, in invoke order."""
    records: list[Record] = []
    for path in sorted((Path(run_dir) / "history").glob("*.hist")):
        records.extend(read_history_file(path))
    records.sort(key=lambda r: r.invoke)
    return records
