"""Per-key request coalescing inside one process (Go's singleflight, for asyncio)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self, on_join: Callable[[], None] | None = None) -> None:
        self._inflight: dict[str, asyncio.Future[T]] = {}
        self.joins = 0
        # Called when a caller starts waiting, so a stuck leader shows up in metrics at once.
        self._on_join = on_join

    async def do(self, key: str, fn: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """Run fn once per key at a time; concurrent callers share its result.

        Returns (result, joined) where joined tells whether this caller waited on another's call.
        """
        fut = self._inflight.get(key)
        if fut is not None:
            self.joins += 1
            if self._on_join is not None:
                self._on_join()
            # shield: one cancelled waiter must not cancel the leader's result for everyone.
            return await asyncio.shield(fut), True
        fut = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            result = await fn()
        except BaseException as exc:
            fut.set_exception(exc)
            # Mark retrieved so an exception nobody joined does not log "never retrieved".
            fut.exception()
            raise
        else:
            fut.set_result(result)
            return result, False
        finally:
            del self._inflight[key]

    def inflight(self) -> int:
        return len(self._inflight)
