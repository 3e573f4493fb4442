"""Prometheus text bodies read into flat samples: shared by the sampler and the probe, which must
not import each other's packages (the suite probes targets; the probe reads /metrics as the sampler does)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

# A parser's complaint cut to a length a summary note can hold.
_MAX_REASON = 120


def prometheus_samples(text: str) -> tuple[dict[str, float], str | None]:
    """The samples of a Prometheus text body, and why parsing stopped early (None: it did not).

    The samples before an unparsable line are kept: a partial scrape still measures something."""
    out: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue  # creation timestamps, not measurements
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        reason = " ".join(str(exc).split())[:_MAX_REASON] or type(exc).__name__
        return out, f"not Prometheus text ({reason})"
    return out, None
