"""Redis L2 access with a hard time bound per call and a short circuit breaker.

Redis trouble must never turn into a 5xx or a slow request: every call is bounded by
redis_timeout_ms, and after a failure Redis is skipped for redis_backoff_ms so a dead
Redis costs one timeout per backoff period rather than one per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel

from cachechaos.backend.config import BackendConfig
from cachechaos.backend.metrics import Metrics

T = TypeVar("T")
log = logging.getLogger("cachechaos.backend.l2")


class L2Unavailable(Exception):
    """Redis did not answer in time or is in backoff; callers fall back to L1/PostgreSQL."""


def _host_port(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return host, int(port)


class RedisL2:
    def __init__(self, cfg: BackendConfig, metrics: Metrics) -> None:
        self._metrics = metrics
        self._timeout = cfg.redis_timeout_ms / 1000.0
        self._backoff = cfg.redis_backoff_ms / 1000.0
        self._down_until = 0.0
        self._master_name = cfg.master_name
        self.sentinel: Sentinel | None = None
        t = self._timeout
        if cfg.sentinel_discovery:
            self.sentinel = Sentinel(
                [_host_port(a) for a in cfg.sentinels],
                sentinel_kwargs={"socket_timeout": t, "socket_connect_timeout": t},
            )
            self.client: aioredis.Redis = self.sentinel.master_for(
                cfg.master_name, socket_timeout=t, socket_connect_timeout=t
            )
            self.primary: str | None = None
        else:
            assert cfg.redis_url is not None
            url = cfg.redis_url if "://" in cfg.redis_url else f"redis://{cfg.redis_url}"
            self.client = aioredis.Redis.from_url(url, socket_timeout=t, socket_connect_timeout=t)
            kw = self.client.connection_pool.connection_kwargs
            self.primary = f"{kw.get('host')}:{kw.get('port')}"
        self._on_failover: list[Callable[[], Awaitable[None]]] = []

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    async def call(self, fn: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        if time.monotonic() < self._down_until:
            raise L2Unavailable("redis in backoff")
        try:
            async with asyncio.timeout(self._timeout):
                return await fn(self.client)
        except TimeoutError as exc:
            self._fail("timeout")
            raise L2Unavailable("redis timeout") from exc
        except (aioredis.RedisError, OSError) as exc:
            self._fail(type(exc).__name__)
            raise L2Unavailable(str(exc)) from exc

    def _fail(self, kind: str) -> None:
        self._metrics.redis_errors.labels(kind).inc()
        self._down_until = time.monotonic() + self._backoff

    def on_failover(self, cb: Callable[[], Awaitable[None]]) -> None:
        self._on_failover.append(cb)

    async def watch_primary(self, interval_s: float = 0.5) -> None:
        """Track the primary Sentinel names, and drop old connections when it changes.

        redis-py re-discovers on a connection error, but a demoted primary that stays up
        would keep our pooled connections (reads succeed, writes fail READONLY); dropping
        them on a change makes the switch prompt.
        """
        if self.sentinel is None:
            return
        while True:
            try:
                async with asyncio.timeout(max(self._timeout * 3, 0.5)):
                    host, port = await self.sentinel.discover_master(self._master_name)
                addr = f"{host}:{port}"
                if self.primary is not None and addr != self.primary:
                    log.warning("redis primary changed %s -> %s", self.primary, addr)
                    self._metrics.errors.labels("redis_failover").inc()
                    await self.client.connection_pool.disconnect()
                    self._down_until = 0.0
                    for cb in self._on_failover:
                        await cb()
                self.primary = addr
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # sentinels down: keep the last known primary
                log.debug("sentinel discovery failed: %s", exc)
            await asyncio.sleep(interval_s)

    async def close(self) -> None:
        # Closing during shutdown must not mask the real exit.
        with contextlib.suppress(Exception):
            await self.client.aclose()
