"""Pause points for deterministic race tests (enabled only with debug_hooks: true)."""

from __future__ import annotations

import asyncio


class DebugHooks:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._armed: dict[tuple[str, str], asyncio.Event] = {}
        self._waiting: set[tuple[str, str]] = set()

    def arm(self, point: str, key: str) -> None:
        """The next request reaching (point, key) stops there until release()."""
        self._armed[(point, key)] = asyncio.Event()

    def release(self, point: str, key: str) -> bool:
        ev = self._armed.pop((point, key), None)
        if ev is None:
            return False
        ev.set()
        return True

    def waiting(self, point: str, key: str) -> bool:
        return (point, key) in self._waiting

    async def point(self, point: str, key: str) -> None:
        ev = self._armed.get((point, key))
        if ev is None or (point, key) in self._waiting:
            return
        self._waiting.add((point, key))
        try:
            await ev.wait()
        finally:
            self._waiting.discard((point, key))
