"""Observed popularity: reads per product, shared by every instance in one Redis sorted set.

A deploy's warm-up can only load what is popular if someone watched what was read.
Each instance counts its reads in memory (a dict increment on the request path) and
adds the counts to the sorted set once a second in one pipeline; a restarted
instance reads the top N back. Orders or id order know nothing about what is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import redis.asyncio as aioredis

from cachechaos.backend.l2 import L2Unavailable, RedisL2

log = logging.getLogger("cachechaos.backend.popularity")
FLUSH_EVERY_S = 1.0


class Popularity:
    def __init__(self, l2: RedisL2, key: str) -> None:
        self.l2 = l2
        self.key = key
        self._counts: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None

    def read(self, pid: int) -> None:
        self._counts[pid] = self._counts.get(pid, 0) + 1

    async def flush(self) -> int:
        """Add the counts since the last flush to the shared set; returns how many products it touched."""
        counts, self._counts = self._counts, {}
        if not counts:
            return 0

        async def send(r: aioredis.Redis) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            for pid, n in counts.items():
                pipe.zincrby(self.key, n, str(pid))
            return await pipe.execute()

        # Popularity is a hint: counts lost while Redis is away only make a warm-up less exact.
        with contextlib.suppress(L2Unavailable):
            await self.l2.call(send)
        return len(counts)

    async def top(self, n: int) -> list[int]:
        """The ids of the `n` most-read products observed so far, most read first."""
        members = await self.l2.call(lambda r: r.zrevrange(self.key, 0, n - 1))
        return [int(m) for m in members if isinstance(m, bytes | str)]  # without scores: members only

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="popularity")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            try:
                await self.flush()
            except Exception as exc:  # never let a hint kill the instance
                log.warning("popularity flush failed: %s", exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush()
