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


def _ms(c: Columns, measure: Measure = "response", which: Mask | slice = slice(None)) -> Floats:
    return c.service_ms(which) if measure == "service" else c.response_ms(which)


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
    records = run.selected(phase)
    ms = _ms(records, measure)
    ops = ROUTES[route]
    chosen = records.of_ops(ops)
    selected = ms[chosen]
    selected.sort()  # in place: one array of the route's size fewer at the peak
    by_route: dict[str, Any] = {}
    for name, route_ops in ROUTES.items():
        # The chosen route is already sorted: on a catalog of tens of millions a sort costs seconds.
        by_route[name] = summary(selected, ascending=True) if name == route else summary(ms[records.of_ops(route_ops)])
    by_phase: dict[str, Any] = {}
    for w in run.phases:
        inside = run.columns.between(w.start, w.end)  # views: only the times of the route's requests are copied
        by_phase[w.name] = summary(_ms(inside, measure, inside.of_ops(ops)))
    other: Measure = "service" if measure == "response" else "response"
    details = {"route": route, "percentile": percentile, "phase": phase, "measure": measure,
               "requests": len(selected), "by_route": by_route, "by_phase": by_phase,
               other: summary(_ms(records, other, chosen))}
    return Measurement("latency", nearest_rank(selected, percentile), "ms", details)
