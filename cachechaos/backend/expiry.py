"""TTL arithmetic: jitter and early refresh (fixed window or probabilistic XFetch)."""

from __future__ import annotations

import math
import random


def jittered_ttl(ttl_s: float, percent: float, rng: random.Random | None = None) -> float:
    """ttl ± percent, uniformly, so keys filled together do not expire together."""
    if percent <= 0:
        return ttl_s
    r = (rng or random).uniform(-percent, percent)
    return max(0.001, ttl_s * (1.0 + r / 100.0))


def xfetch_should_refresh(
    now: float, expires_at: float, delta_s: float, beta: float, rng: random.Random | None = None
) -> bool:
    """Vattani et al., "Optimal Probabilistic Cache Stampede Prevention" (VLDB 2015).

    Refresh early when now - delta * beta * ln(U) >= expiry; -ln(U) is exponential, so the
    chance of refreshing grows as expiry nears and with the cost (delta) of recomputing.
    """
    u = (rng or random).random()
    if u <= 0.0:
        return True
    return now - delta_s * beta * math.log(u) >= expires_at


def window_should_refresh(now: float, expires_at: float, window_s: float) -> bool:
    return expires_at - now <= window_s
