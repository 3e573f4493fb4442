"""oversell: units sold beyond the stock there was (the checkout must check stock in the DB)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cachechaos.checks.result import Measurement, declares
from cachechaos.checks.rundata import RunData
from cachechaos.history.format import Op

DEFAULT_STOCK = 100
MAX_LISTED = 50


def initial_stock(run: RunData) -> int:
    """Every product starts with topology.postgres.stock units (the seed gives all products the same),
    or an external topology's catalog.stock."""
    topology = run.run.get("topology")
    sizes = (topology.get("catalog") or topology.get("postgres")) if isinstance(topology, dict) else None
    stock = sizes.get("stock") if isinstance(sizes, dict) else None
    return int(stock) if isinstance(stock, int | float) and not isinstance(stock, bool) else DEFAULT_STOCK


@declares(unit="count")
def oversell(run: RunData, stock: int | None = None) -> Measurement:
    """Total units accepted (ORDER 201, qty in the version field) beyond `stock` (default: run.json's), over all products."""
    stock = initial_stock(run) if stock is None else int(stock)
    orders = run.selected(ops=[Op.ORDER])
    accepted_at = np.flatnonzero(orders.status == 201)
    by_key = accepted_at[np.argsort(orders.key[accepted_at], kind="stable")]
    keys, first, counts = np.unique(orders.key[by_key], return_index=True, return_counts=True)
    units = np.add.reduceat(np.maximum(orders.version[by_key], 0), first) if len(first) else first
    accepted = dict(zip(keys.tolist(), units.tolist(), strict=True))
    ordered = dict(zip(keys.tolist(), counts.tolist(), strict=True))
    oversold = {key: units - stock for key, units in accepted.items() if units > stock}
    worst = sorted(oversold.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_LISTED]
    details: dict[str, Any] = {
        "stock": stock,
        "products_ordered": len(accepted),
        "units_accepted": sum(accepted.values()),
        "products_oversold": len(oversold),
        "per_product": [{"product": key, "accepted_units": accepted[key], "accepted_orders": ordered[key],
                         "oversold_units": units} for key, units in worst],
    }
    return Measurement("oversell", float(sum(oversold.values())), "count", details)
