"""Zipf-distributed product ids: rank k is drawn with weight 1 / k**s.

With a seed, rank k maps to a product id through a seeded permutation, so the popular
products are not the lowest ids: a backend that warms "the first N ids" (or sorts by id
when it knows nothing better) does not hit the hot set by coincidence, and has to learn
popularity from what it observes.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_right

# Ranks up to here get an exact discrete CDF; beyond it a continuous power law.
# A catalogue of millions would otherwise cost 8 bytes per product per process,
# and the tail of a Zipf distribution is smooth enough that nobody can tell.
EXACT_RANKS = 1 << 17


class Zipf:
    """Draw ids 1..n with P(k) proportional to k**-s; `sample` costs one random() and one bisect."""

    def __init__(self, n: int, s: float, seed: int | None = None) -> None:
        if n < 1:
            raise ValueError("a Zipf distribution needs at least one id")
        self.n = n
        self.s = s
        # rank -> id as (a * (rank - 1) + b) mod n + 1 with gcd(a, n) = 1: a bijection that costs
        # no memory per product (a catalogue of millions), drawn from the seed.
        self._a, self._b = 1, 0
        if seed is not None and n > 1:
            rng = random.Random(f"zipf-permutation:{seed}")
            self._b = rng.randrange(n)
            self._a = next(a for a in iter(lambda: rng.randrange(1, n), None) if math.gcd(a, n) == 1)
        exact = min(n, EXACT_RANKS)
        cdf = array("d")
        total = 0.0
        for k in range(1, exact + 1):
            total += k ** -s
            cdf.append(total)
        tail = self._tail_mass(exact, n)
        self._head_mass = total
        self._total = total + tail
        self._cdf = array("d", (c / self._total for c in cdf))
        self._exact = exact

    def _tail_mass(self, lo: int, hi: int) -> float:
        """Integral of x**-s over (lo + 1/2, hi + 1/2]: the mass of ranks lo+1..hi."""
        if hi <= lo:
            return 0.0
        a, b = lo + 0.5, hi + 0.5
        if abs(self.s - 1.0) < 1e-9:
            return math.log(b / a)
        return (b ** (1 - self.s) - a ** (1 - self.s)) / (1 - self.s)

    def _tail_rank(self, mass: float) -> int:
        """The rank in the tail whose cumulative tail mass reaches `mass` (inverse of _tail_mass)."""
        a = self._exact + 0.5
        if abs(self.s - 1.0) < 1e-9:
            x = a * math.exp(mass)
        else:
            x = (a ** (1 - self.s) + mass * (1 - self.s)) ** (1 / (1 - self.s))
        return min(self.n, max(self._exact + 1, round(x)))

    def id_of(self, rank: int) -> int:
        """The product id that has popularity rank `rank` (1 = most popular)."""
        return (self._a * (rank - 1) + self._b) % self.n + 1

    def sample(self, rng: random.Random) -> int:
        return self.id_of(self._sample_rank(rng))

    def _sample_rank(self, rng: random.Random) -> int:
        u = rng.random()
        i = bisect_right(self._cdf, u)
        if i < self._exact:
            return i + 1
        if self._exact == self.n:  # float rounding left u above the last CDF entry
            return self.n
        return self._tail_rank(u * self._total - self._head_mass)

    def probability(self, k: int) -> float:
        """P(rank == k), for tests and reports (the id of rank k is `id_of(k)`)."""
        return float(k ** -self.s / self._total)
