"""Detects keys whose request rate crosses a threshold, per fixed window."""

from __future__ import annotations

import time
from collections.abc import Callable


class HotKeyDetector:
    """Counts hits per key in the current window; memory is bounded by the keys of one window.

    A key is hot once its count within the current window, or the whole previous window,
    reaches threshold_rps * window_s; it stays hot until a full window passes below it.
    """

    def __init__(self, threshold_rps: float, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = max(1, round(threshold_rps * window_s))
        self.window_s = window_s
        self._clock = clock
        self._window_end = clock() + window_s
        self._counts: dict[str, int] = {}
        self._hot: set[str] = set()
        self._hot_prev: set[str] = set()
        self.detected_total = 0

    def _roll(self, now: float) -> None:
        if now < self._window_end:
            return
        # Skipped windows (idle time) count as cold.
        idle = now >= self._window_end + self.window_s
        self._hot_prev = set() if idle else self._hot
        self._hot = set()
        self._counts = {}
        self._window_end = now + self.window_s

    def hit(self, key: str) -> bool:
        """Record one request; True if the key is hot."""
        now = self._clock()
        if now >= self._window_end:
            self._roll(now)
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        if n >= self.limit and key not in self._hot:
            self._hot.add(key)
            if key not in self._hot_prev:
                self.detected_total += 1
        return key in self._hot or key in self._hot_prev

    def is_hot(self, key: str) -> bool:
        self._roll(self._clock())
        return key in self._hot or key in self._hot_prev

    def hot_count(self) -> int:
        self._roll(self._clock())
        return len(self._hot | self._hot_prev)
