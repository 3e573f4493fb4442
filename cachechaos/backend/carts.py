"""Carts, in one of two stores (`cart_store`).

postgres: PostgreSQL is the truth, cache-aside in Redis (cart freshness budget 5 s).
redis: carts live only in Redis, on the current primary, as the lecture keeps them in L2.
A write is acknowledged only once that primary confirmed it; this is what makes writes
acknowledged by an old primary during a partition, then discarded on heal, countable.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Protocol

from cachechaos.backend.config import BackendConfig
from cachechaos.backend.db import Database
from cachechaos.backend.l2 import L2Unavailable, RedisL2
from cachechaos.backend.metrics import Metrics

Cart = dict[str, Any]


def cart_key(user_id: int) -> str:
    return f"cart:{user_id}"


class CartUnavailable(Exception):
    """The cart store did not confirm a read or write: answer 503, never a guess."""


class Carts(Protocol):
    async def get(self, user_id: int, uncached: bool = False) -> tuple[Cart, str]:
        """The cart and the layer that served it; `uncached` reads the store past any cache."""
        ...

    async def put(self, user_id: int, items: list[Any]) -> Cart: ...


# One atomic step: the version grows by one and the items land with it, or nothing happens.
# The first command is the write, so a rejected write (NOREPLICAS, READONLY, OOM) changes nothing.
_PUT = """
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'items', ARGV[1])
return v
"""


class RedisCarts:
    """Carts stored only in Redis (hash cart:{user}: items, version; no TTL), read from the primary."""

    def __init__(self, l2: RedisL2, metrics: Metrics) -> None:
        self.l2 = l2
        self.metrics = metrics
        self._put = l2.client.register_script(_PUT)

    async def get(self, user_id: int, uncached: bool = False) -> tuple[Cart, str]:
        # Redis is this store itself, not a cache in front of it: nothing to bypass.
        key = cart_key(user_id)
        try:
            items, version = await self.l2.call(lambda r: r.hmget(key, "items", "version"), reply_error_trips=False)
        except L2Unavailable as exc:
            self.metrics.errors.labels("cart_read_failed").inc()
            raise CartUnavailable(str(exc)) from exc
        if version is None:
            return {"user_id": user_id, "items": [], "version": 0}, "l2"
        return {"user_id": user_id, "items": json.loads(items or b"[]"), "version": int(version)}, "l2"

    async def put(self, user_id: int, items: list[Any]) -> Cart:
        value = json.dumps(items, separators=(",", ":"))
        keys = [cart_key(user_id)]
        try:
            version = await self.l2.call(
                lambda r: self._put(keys=keys, args=[value], client=r), reply_error_trips=False
            )
        except L2Unavailable as exc:
            # Also a timeout: the write may have landed, but it was not confirmed, so not acknowledged.
            self.metrics.errors.labels("cart_write_rejected").inc()
            raise CartUnavailable(str(exc)) from exc
        return {"user_id": user_id, "items": items, "version": int(version)}


def make_carts(cfg: BackendConfig, db: Database, l2: RedisL2 | None, metrics: Metrics) -> Carts:
    if cfg.cart_store == "redis":
        assert l2 is not None, "cart_store redis needs Redis"
        return RedisCarts(l2, metrics)
    return CartCache(cfg, db, l2, metrics)


class CartCache:
    def __init__(self, cfg: BackendConfig, db: Database, l2: RedisL2 | None, metrics: Metrics) -> None:
        self.cfg = cfg
        self.db = db
        self.l2 = l2 if cfg.caches else None
        self.metrics = metrics
        self.ttl_ms = int(cfg.l2.cart_ttl_s * 1000)

    async def get(self, user_id: int, uncached: bool = False) -> tuple[Cart, str]:
        l2 = self.l2
        if l2 is None or uncached:
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
