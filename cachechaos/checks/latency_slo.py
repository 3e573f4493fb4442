"""latency: a latency percentile of one route, in milliseconds, as the clients measured it."""

from __future__ import annotations

from typing import Any, Literal

from cachechaos.checks.result import Measurement
from cachechaos.checks.rundata import RunData
from cachechaos.checks.stats import percentile as nearest_rank
from cachechaos.checks.stats import summary
from cachechaos.history.format import Op, Record

Route = Literal["catalog", "product_write", "discount", "order", "cart"]
ROUTES: dict[str, frozenset[int]] = {
    "catalog": frozenset({Op.READ, Op.ABSENT_READ}),
    "product_write": frozenset({Op.WRITE}),
    "discount": frozenset({Op.DISCOUNT}),
    "order": frozenset({Op.ORDER}),
    "cart": frozenset({Op.CART_READ, Op.CART_WRITE}),
}


def _ms(records: list[Record]) -> list[float]:
    return [(r.complete - r.invoke) * 1000.0 for r in records]


def latency(run: RunData, route: Route = "catalog", percentile: float = 99, phase: str | None = None) -> Measurement:
    """The `percentile` latency (ms) of `route` over every request of it, errors and timeouts included:
    a client that waited 5 s for a 503 waited 5 s."""
    if route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; routes: {', '.join(ROUTES)}")
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must be within 0..100, got {percentile}")
    records = run.records(phase)
    by_route: dict[str, Any] = {}
    for name, ops in ROUTES.items():
        by_route[name] = summary(_ms([r for r in records if r.op in ops]))
    by_phase: dict[str, Any] = {}
    ops = ROUTES[route]
    for w in run.phases:
        by_phase[w.name] = summary(_ms(run.records(w.name, ops=ops)))
    selected = sorted(_ms([r for r in records if r.op in ops]))
    details = {"route": route, "percentile": percentile, "phase": phase, "requests": len(selected),
               "by_route": by_route, "by_phase": by_phase}
    return Measurement("latency", nearest_rank(selected, percentile), "ms", details)
