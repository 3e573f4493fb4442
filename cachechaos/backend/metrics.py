"""Prometheus metrics of one instance, named as in the lecture."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_FAST_BUCKETS = (
    0.0002,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


class Metrics:
    """One registry per instance, so several apps in one process do not share counters."""

    def __init__(self, instance: str) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.cache_requests = Counter("cache_requests", "Cache lookups by layer", ["layer"], registry=r)
        self.cache_hits = Counter("cache_hits", "Cache hits by layer", ["layer"], registry=r)
        self.db_queries = Counter("db_queries", "Queries sent to PostgreSQL", ["kind"], registry=r)
        self.invalidations_sent = Counter("cache_invalidations_sent", "Invalidations issued (DEL or event)", registry=r)
        self.invalidations_applied = Counter(
            "cache_invalidations_applied", "Invalidation events applied to L1", registry=r
        )
        self.invalidation_latency = Histogram(
            "cache_invalidation_latency_seconds",
            "From publishing an invalidation event to applying it here",
            buckets=_FAST_BUCKETS,
            registry=r,
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "Request latency by route",
            ["route"],
            buckets=_FAST_BUCKETS,
            registry=r,
        )
        self.hot_keys = Gauge("cache_hot_keys_detected", "Keys currently hot", registry=r)
        self.hot_keys_total = Counter("cache_hot_keys_detections", "Keys that turned hot", registry=r)
        self.singleflight_joins = Counter("singleflight_joins", "Requests that waited on another's load", registry=r)
        self.lease_waits = Counter("lease_waits", "Waits for another request's lease", registry=r)
        self.lease_fills_rejected = Counter(
            "lease_fills_rejected", "Fills dropped because the lease was invalidated", registry=r
        )
        self.stale_served = Counter(
            "stale_served",
            "Responses deliberately older than known (bug switch or lease)",
            ["reason"],
            registry=r,
        )
        self.early_refreshes = Counter("cache_early_refreshes", "Early refreshes", registry=r)
        self.negative_hits = Counter("cache_negative_hits", "Hits on cached not-found", registry=r)
        self.warmup_loaded = Counter("cache_warmup_loaded", "Products warmed", registry=r)
        self.errors = Counter("backend_errors", "Errors by kind", ["kind"], registry=r)
        self.redis_errors = Counter("redis_errors", "Redis failures by kind", ["kind"], registry=r)
        self.l1_entries = Gauge("cache_l1_entries", "Entries in L1", registry=r)
        self.info = Gauge("backend_info", "Instance identity", ["instance", "strategy"], registry=r)
        self.instance = instance
        # Pre-bound children: labels() costs a dict lookup and lock per call on the hot path.
        self.req_l1 = self.cache_requests.labels("l1")
        self.req_l2 = self.cache_requests.labels("l2")
        self.hit_l1 = self.cache_hits.labels("l1")
        self.hit_l2 = self.cache_hits.labels("l2")

    def render(self) -> bytes:
        return generate_latest(self.registry)
