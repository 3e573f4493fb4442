"""The cache-aside family: no cache, TTL only, delete on write, set on write."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from cachechaos.backend.entry import Entry, encode
from cachechaos.backend.strategies.base import Strategy, product_key


class NoCache(Strategy):
    name = "none"
    caches_l2 = False
    l1_all = False
    early_refresh = False


class TtlOnly(Strategy):
    """Writes touch only the DB; every copy stays until it expires."""

    name = "ttl"
    write_invalidates_l1 = False


class DeleteOnWrite(Strategy):
    """UPDATE then DEL: racy, since a reader holding the old row can SET it after the DEL."""

    name = "delete"

    async def after_write(self, entries: list[Entry], bulk: bool) -> None:
        await self._delete([product_key(e.product["id"]) for e in entries if e.product])


class SetOnWrite(Strategy):
    name = "set"

    async def after_write(self, entries: list[Entry], bulk: bool) -> None:
        live = [e for e in entries if e.product]

        async def set_chunk(r: aioredis.Redis, chunk: list[Entry]) -> Any:
            pipe = r.pipeline(transaction=False)
            for e in chunk:
                assert e.product is not None
                pipe.set(product_key(e.product["id"]), encode(e), px=e.ttl_ms())
            return await pipe.execute()

        await self._send_invalidations(live, 1000, set_chunk)
