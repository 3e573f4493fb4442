"""Python adapters for tests/adapters/test_final_flag.py: one told of final reads, one from before the flag."""

from __future__ import annotations

from typing import Any

from cachechaos.adapters.hook import Read, Written


class FinalAware:
    """Serves a cached value unless told the read is final; then it reads its store."""

    def __init__(self, base_url: str) -> None:
        self.store: dict[Any, int] = {}
        self.finals: list[Any] = []

    def read(self, key: Any, final: bool = False) -> Read:
        if final:
            self.finals.append(key)
            return Read(value=self.store.get(key, 1), layer="miss")
        return Read(value=1, layer="l1")

    def write(self, key: Any, value: Any) -> Written:
        self.store[key] = value
        return Written()


class KeyOnly(FinalAware):
    """A hook written before `final` existed: its read takes the key alone."""

    def read(self, key: Any) -> Read:  # type: ignore[override]
        return super().read(key)
