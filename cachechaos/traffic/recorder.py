"""HTTP response → history record: the one implementation shared by Locust users and the runner.

Kept free of Locust and gevent imports: the experiment runner records its own
requests (a bulk discount fired as a fault, final reads) with httpx, and must
not be monkey-patched.
"""

from __future__ import annotations

import json
from typing import Any

from cachechaos.history.format import UNKNOWN_VERSION, Layer, Op
from cachechaos.history.writer import HistoryWriter

_VERSION_KEY = b'"version":'
_VERSION_KEY_LEN = len(_VERSION_KEY)
_DISCOUNT = int(Op.DISCOUNT)
_DROPPED = int(Op.DROPPED)
_LAYERS = {"l1": int(Layer.L1), "l2": int(Layer.L2), "miss": int(Layer.MISS),
           "L1": int(Layer.L1), "L2": int(Layer.L2), "MISS": int(Layer.MISS)}


def body_version(body: bytes | None) -> int:
    """The top-level integer `version` of a small JSON object, or UNKNOWN_VERSION.

    Fast path: the contract's bodies end with `"version":N}` (products, price
    writes, carts). A body that ends that way has `version` as a key of the
    top-level object (the closing brace is the outermost one), so the slice is
    exact; anything else (whitespace, another key order) goes through json.loads.
    """
    if not body:
        return UNKNOWN_VERSION
    if body[-1] == 125:  # b"}"
        at = body.rfind(_VERSION_KEY)
        if at >= 0:
            digits = body[at + _VERSION_KEY_LEN:-1]
            if digits.isdigit() and digits.isascii():
                return int(digits)
    try:
        doc = json.loads(body)
    except ValueError:
        return UNKNOWN_VERSION
    version = doc.get("version") if isinstance(doc, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else UNKNOWN_VERSION


def layer_of(x_cache: str | None) -> int:
    """The Layer code of an X-Cache header value (Layer.NONE when absent or unknown)."""
    if not x_cache:
        return 0
    return _LAYERS.get(x_cache) or int(Layer.from_header(x_cache.strip()))


def discount_updates(body: bytes | None) -> list[tuple[int, int]]:
    """(product id, committed version) of every product a discount rewrote."""
    if not body:
        return []
    try:
        doc = json.loads(body)
    except ValueError:
        return []
    updated: Any = doc.get("updated") if isinstance(doc, dict) else None
    out: list[tuple[int, int]] = []
    for item in updated if isinstance(updated, list) else []:
        if isinstance(item, dict) and isinstance(item.get("id"), int) and isinstance(item.get("version"), int):
            out.append((item["id"], item["version"]))
    return out


class Recorder:
    """Turns one response into history records. One per process; `record_*` are called per request."""

    def __init__(self, writer: HistoryWriter) -> None:
        self.writer = writer
        self._record = writer.record

    def record(self, op: int, key: int, invoke: float, complete: float, status: int, x_cache: str | None,
               body: bytes | None, client: int = 0, version: int | None = None,
               intended: float | None = None) -> int:
        """Record one request (op: an Op); returns the version written to the history.

        `version` overrides what the body says (orders record their qty);
        `intended` is the open model's scheduled send time (default: invoke). The
        layer comes from X-Cache when the response has one (reads; writes have none).
        A discount records the request itself, with the number of products it
        rewrote as its version, and one DISCOUNT_WRITE per product with the
        committed version and the discount's timing. Called once per request:
        kept to a few dict lookups and one struct.pack.
        """
        ok = 200 <= status < 300
        if op == _DISCOUNT:
            updates = discount_updates(body) if ok else []
            count = len(updates) if ok else UNKNOWN_VERSION
            self._record(invoke, complete, _DISCOUNT, key, count, 0, status, client, intended)
            for pid, committed in updates:
                self._record(invoke, complete, Op.DISCOUNT_WRITE, pid, committed, 0, status, client, intended)
            return count
        if version is None:
            version = body_version(body) if ok else UNKNOWN_VERSION
        layer = (_LAYERS.get(x_cache) or layer_of(x_cache)) if x_cache else 0
        self._record(invoke, complete, op, key, version, layer, status, client, intended)
        return version

    def dropped(self, op: int, intended: float, client: int = 0) -> None:
        """An open-model arrival that found max_in_flight full and was never sent."""
        self._record(intended, intended, _DROPPED, op, UNKNOWN_VERSION, 0, 0, client, intended)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
