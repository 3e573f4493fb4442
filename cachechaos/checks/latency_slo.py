"""latency: a latency percentile of one route, in milliseconds, as the clients measured it.

Response time by default: from the request's intended send time (the open
model's scheduled arrival) to its completion, so a stall is charged to every
request it delayed, including those the generator could only send late.
`measure: service` asks for service time instead (from the actual send).
"""

from __future__ import annotations

from typing import Any, Literal

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.checks.stats import percentile as nearest_rank
from cachechaos.checks.stats import summary
from cachechaos.history.columns import Columns, Floats, Mask
from cachechaos.history.format import Op

Route = Literal["catalog", "product_write", "discount", "order", "cart"]
Measure = Literal["response", "service"]
ROUTES: dict[str, frozenset[int]] = {
    "catalog": frozenset({Op.READ, Op.ABSENT_READ}),
    "product_write": frozenset({Op.WRITE}),
    "discount": frozenset({Op.DISCOUNT}),
    "order": frozenset({Op.ORDER}),
    "cart": frozenset({Op.CART_READ, Op.CART_WRITE}),
}


def _sorted_ms(c: Columns, measure: Measure, which: Mask) -> Floats:
    """The times of the records at `which`, ascending (sorted in place: no second copy)."""
    ms = c.service_ms(which) if measure == "service" else c.response_ms(which)
    ms.sort()
    return ms


@declares(unit="ms")
def latency(run: RunData, route: Route = "catalog", percentile: float = 99, phase: str | None = None,
            measure: Measure = "response") -> Measurement:
    """The `percentile` latency (ms) of `route` over every request of it, errors and timeouts included:
    a client that waited 5 s for a 503 waited 5 s. Details carry both response and service time."""
    if route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; routes: {', '.join(ROUTES)}")
    if measure not in ("response", "service"):
        raise ValueError(f"measure must be response or service, got {measure!r}")
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must be within 0..100, got {percentile}")
    # Each route's times taken and sorted on their own, not the whole run's at once: on a run of
    # tens of millions what this holds beyond the columns is about two of the largest route's.
    records = run.selected(phase)
    ops = ROUTES[route]
    chosen = records.of_ops(ops)
    selected = _sorted_ms(records, measure, chosen)
    by_route: dict[str, Any] = {}
    for name, route_ops in ROUTES.items():
        by_route[name] = summary(selected if name == route else _sorted_ms(records, measure, records.of_ops(route_ops)),
                                 ascending=True)
    by_phase: dict[str, Any] = {}
    for w in run.phases:
        inside = run.columns.between(w.start, w.end)  # views
        by_phase[w.name] = summary(_sorted_ms(inside, measure, inside.of_ops(ops)), ascending=True)
    other: Measure = "service" if measure == "response" else "response"
    details = {"route": route, "percentile": percentile, "phase": phase, "measure": measure,
               "requests": len(selected), "by_route": by_route, "by_phase": by_phase,
               other: summary(_sorted_ms(records, other, chosen), ascending=True)}
    return Measurement("latency", nearest_rank(selected, percentile), "ms", details)
