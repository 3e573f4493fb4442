"""Carts: cache-aside in Redis only (cart freshness budget 5 s), DB is the truth."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from cachechaos.backend.config import BackendConfig
from cachechaos.backend.db import Database
from cachechaos.backend.l2 import L2Unavailable, RedisL2
from cachechaos.backend.metrics import Metrics

Cart = dict[str, Any]


def cart_key(user_id: int) -> str:
    return f"cart:{user_id}"


class CartCache:
    def __init__(self, cfg: BackendConfig, db: Database, l2: RedisL2 | None, metrics: Metrics) -> None:
        self.cfg = cfg
        self.db = db
        self.l2 = l2 if cfg.caches else None
        self.metrics = metrics
        self.ttl_ms = int(cfg.l2.cart_ttl_s * 1000)

    async def get(self, user_id: int) -> tuple[Cart, str]:
        l2 = self.l2
        if l2 is None:
            return await self.db.get_cart(user_id), "miss"
        key = cart_key(user_id)
        self.metrics.req_l2.inc()
        fill = True
        try:
            raw = await l2.call(lambda r: r.get(key))
            if raw is not None:
                self.metrics.hit_l2.inc()
                return json.loads(raw), "l2"
        except L2Unavailable:
            fill = False
        cart = await self.db.get_cart(user_id)
        if fill:
            value = json.dumps(cart)
            with contextlib.suppress(L2Unavailable):
                await l2.call(lambda r: r.set(key, value, px=self.ttl_ms))
        return cart, "miss"

    async def put(self, user_id: int, items: list[Any]) -> Cart:
        cart = await self.db.put_cart(user_id, items)
        l2 = self.l2
        if l2 is None or self.cfg.strategy == "ttl":
            return cart
        key = cart_key(user_id)
        try:
            if self.cfg.strategy == "set":
                value = json.dumps(cart)
                await l2.call(lambda r: r.set(key, value, px=self.ttl_ms))
            else:
                await l2.call(lambda r: r.delete(key))
            self.metrics.invalidations_sent.inc()
        except L2Unavailable:
            self.metrics.errors.labels("invalidation_lost").inc()
        return cart
