"""A cached product (or a cached "not found") and its L2 encoding."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import Any

Product = dict[str, Any]
_PUBLIC = ("id", "name", "category_id", "price", "stock", "version")


@dataclass(slots=True)
class Entry:
    product: Product | None  # None: a negative entry (the id does not exist)
    body: bytes  # the HTTP response body, encoded once at fill time
    exp: float  # wall-clock expiry in L2, for early refresh
    delta: float  # seconds the DB load took (XFetch's recompute cost)
    stale: bool = False  # deliberately older than the newest known version

    @property
    def version(self) -> int:
        return int(self.product["version"]) if self.product else 0

    def ttl_ms(self) -> int:
        return max(1, int((self.exp - time.time()) * 1000))

    def older(self, product: Product) -> Entry:
        return replace(self, product=product, body=product_body(product), stale=True)


def product_body(product: Product) -> bytes:
    return json.dumps({k: product[k] for k in _PUBLIC}, separators=(",", ":")).encode()


def make_entry(product: Product | None, ttl_s: float, delta: float) -> Entry:
    body = product_body(product) if product else b""
    return Entry(product, body, time.time() + ttl_s, delta)


def encode(entry: Entry) -> bytes:
    return json.dumps(
        {"product": entry.product, "exp": entry.exp, "delta": entry.delta}, separators=(",", ":")
    ).encode()


def decode(raw: bytes | str) -> Entry:
    doc = json.loads(raw)
    product = doc.get("product")
    body = product_body(product) if product else b""
    return Entry(product, body, float(doc.get("exp", 0.0)), float(doc.get("delta", 0.0)))
