"""Read/write strategies by name (the `strategy:` config field)."""

from __future__ import annotations

from cachechaos.backend.strategies.base import Deps, Lookup, Strategy, product_key
from cachechaos.backend.strategies.event import EventInvalidation
from cachechaos.backend.strategies.lease import LeaseStrategy
from cachechaos.backend.strategies.simple import DeleteOnWrite, NoCache, SetOnWrite, TtlOnly
from cachechaos.backend.strategies.versioned import VersionedKeys

STRATEGIES: dict[str, type[Strategy]] = {
    s.name: s
    for s in (
        NoCache,
        TtlOnly,
        DeleteOnWrite,
        SetOnWrite,
        EventInvalidation,
        LeaseStrategy,
        VersionedKeys,
    )
}


def make_strategy(deps: Deps) -> Strategy:
    return STRATEGIES[deps.cfg.strategy](deps)


__all__ = ["STRATEGIES", "Deps", "Lookup", "Strategy", "make_strategy", "product_key"]
