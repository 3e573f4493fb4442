"""A service's own Prometheus names mapped onto the toolkit's (the topology's `metrics:`).

The checks read the sample backend's names: `db_queries_total` (DB amplification with `source:
backend`, the `backend_db_qps` series), `cache_hits_total{layer="l1"}` over
`cache_requests_total{layer="l1"}` (hit rate from counters), and the same for `l2`. A service
that counts the same things under its own names declares them, and each scrape (the sampler's,
the probe's) gains the toolkit's names computed from the service's, so every check, the live view
and the applicability of rows work unchanged. The service's own samples are kept as they are.

A name in the mapping is a series with its labels (`shop_cache_total{tier="local",result="hit"}`,
labels in any order) or a bare name, which sums every series of that name (all label sets).
"""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from cachechaos.yamlmodel import Strict

_SERIES = r'^[A-Za-z_:][A-Za-z0-9_:]*(\{\s*[A-Za-z_][A-Za-z0-9_]*\s*=\s*"[^"]*"\s*(,\s*[A-Za-z_][A-Za-z0-9_]*\s*=\s*"[^"]*"\s*)*\})?$'
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"')

# The toolkit's name of the DB query counter.
DB_QUERIES = "db_queries_total"


def hits_name(layer: str) -> str:
    return f'cache_hits_total{{layer="{layer}"}}'


def lookups_name(layer: str) -> str:
    return f'cache_requests_total{{layer="{layer}"}}'


class MetricNames(Strict):
    """Your service's Prometheus names for what the toolkit's checks count (each optional)."""

    db_queries: str | None = Field(None, pattern=_SERIES, description="a counter of the queries your backends send to "
                                   "the database: DB amplification (stampede) and the backends' DB query rate")
    l1_hits: str | None = Field(None, pattern=_SERIES, description="a counter of reads the in-process cache (L1) answered")
    l1_misses: str | None = Field(None, pattern=_SERIES, description="a counter of L1 lookups it did not answer")
    l2_hits: str | None = Field(None, pattern=_SERIES, description="a counter of reads the shared cache (L2, Redis) answered")
    l2_misses: str | None = Field(None, pattern=_SERIES, description="a counter of L2 lookups it did not answer")

    @model_validator(mode="after")
    def _pairs(self) -> MetricNames:
        for layer in ("l1", "l2"):
            if (getattr(self, f"{layer}_hits") is None) != (getattr(self, f"{layer}_misses") is None):
                raise ValueError(f"{layer}_hits and {layer}_misses go together: a hit rate needs both counters")
        return self

    def layers(self) -> list[str]:
        """The cache layers whose hits and misses are mapped."""
        return [layer for layer in ("l1", "l2") if getattr(self, f"{layer}_hits") is not None]


def _key(series: str) -> tuple[str, frozenset[tuple[str, str]]]:
    name, _, labels = series.partition("{")
    return name.strip(), frozenset(_LABEL.findall(labels))


def _value(samples: dict[str, float], series: str) -> float | None:
    """The sample `series` names (labels in any order), or the sum of every series of a bare name."""
    name, labels = _key(series)
    bare = "{" not in series
    found = [v for k, v in samples.items() if _key(k)[0] == name and (bare or _key(k)[1] == labels)]
    return sum(found) if found else None


def translate(samples: dict[str, float], names: MetricNames | None) -> dict[str, float]:
    """`samples` with the toolkit's names added from the service's (see the module docstring)."""
    if names is None:
        return samples
    out = dict(samples)
    if names.db_queries is not None and (queries := _value(samples, names.db_queries)) is not None:
        out[DB_QUERIES] = queries
    for layer in names.layers():
        hits = _value(samples, str(getattr(names, f"{layer}_hits")))
        misses = _value(samples, str(getattr(names, f"{layer}_misses")))
        if hits is not None and misses is not None:
            out[hits_name(layer)] = hits
            out[lookups_name(layer)] = hits + misses
    return out
