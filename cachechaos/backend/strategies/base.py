"""The interface every read/write strategy implements, and plain cache-aside as its default."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import redis.asyncio as aioredis

from cachechaos.backend.config import BackendConfig
from cachechaos.backend.entry import Entry, decode, encode
from cachechaos.backend.l1 import L1Cache
from cachechaos.backend.l2 import L2Unavailable, RedisL2
from cachechaos.backend.metrics import Metrics

log = logging.getLogger("cachechaos.backend.strategy")
T = TypeVar("T")


@dataclass(slots=True)
class Deps:
    cfg: BackendConfig
    l2: RedisL2 | None
    l1: L1Cache[Entry]
    metrics: Metrics


@dataclass(slots=True)
class Lookup:
    entry: Entry | None = None
    token: str | None = None  # lease token, when the strategy hands them out
    fill: bool = True  # False: load from the DB but leave the cache alone


def product_key(pid: int) -> str:
    return f"product:{pid}"


class Strategy:
    name: ClassVar[str] = ""
    caches_l2: ClassVar[bool] = True
    # L1 may hold every product; strategies whose coherence lives in Redis say no.
    l1_all: ClassVar[bool] = True
    write_invalidates_l1: ClassVar[bool] = True
    early_refresh: ClassVar[bool] = True

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.cfg = deps.cfg
        self.metrics = deps.metrics
        self._l2 = deps.l2

    @property
    def l2(self) -> RedisL2:
        assert self._l2 is not None, f"strategy {self.name} needs Redis"
        return self._l2

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def lookup(self, pid: int) -> Lookup:
        try:
            raw = await self.l2.call(lambda r: r.get(product_key(pid)))
        except L2Unavailable:
            return Lookup(fill=self.l2.available)
        return Lookup(decode(raw) if raw is not None else None)

    async def fill(self, pid: int, entry: Entry, lookup: Lookup) -> None:
        value = encode(entry)
        with contextlib.suppress(L2Unavailable):
            await self.l2.call(lambda r: r.set(product_key(pid), value, px=entry.ttl_ms()))

    async def after_write(self, entries: list[Entry], bulk: bool) -> None:
        """Called after the DB committed; entries hold the new rows."""

    async def _delete(self, keys: list[str]) -> None:
        await self._send_invalidations(keys, 1000, lambda r, chunk: r.delete(*chunk))

    async def _send_invalidations(self, items: list[T], chunk_size: int,
                          send: Callable[[aioredis.Redis, list[T]], Awaitable[Any]]) -> None:
        """Send invalidations in chunks (a bulk write can touch 10,000 products) and count them:
        sent when every chunk went through, one `invalidation_lost` when Redis could not take them."""
        if not items:
            return
        try:
            for i in range(0, len(items), chunk_size):
                chunk = items[i : i + chunk_size]
                await self.l2.call(lambda r, c=chunk: send(r, c))  # type: ignore[misc]
            self.metrics.invalidations_sent.inc(len(items))
        except L2Unavailable:
            self.metrics.errors.labels("invalidation_lost").inc()
