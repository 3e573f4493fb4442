"""Redis L2 access with a hard time bound per call and a short circuit breaker.

Redis trouble must never turn into a 5xx or a slow request: every call is bounded by
redis_timeout_ms, and after a failure Redis is skipped for redis_backoff_ms so a dead
Redis costs one timeout per backoff period rather than one per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection

from cachechaos.backend.config import REDIS_PASSWORD_ENV, BackendConfig, split_address
from cachechaos.backend.metrics import Metrics

T = TypeVar("T")
log = logging.getLogger("cachechaos.backend.l2")


class L2Unavailable(Exception):
    """Redis did not answer in time or is in backoff; callers fall back to L1/PostgreSQL."""


class AddressMap:
    """Where to dial a node named by Sentinel (or redis_url): its own address unless mapped."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self._map = {src: split_address(dst) for src, dst in mapping.items()}

    def dial(self, host: str, port: int) -> tuple[str, int]:
        return self._map.get(f"{host}:{port}", (host, int(port)))

    def dial_str(self, addr: str | None) -> str | None:
        if addr is None:
            return None
        host, port = self.dial(*split_address(addr))
        return f"{host}:{port}"


class MappedSentinelConnection(SentinelManagedConnection):
    """Connects to the mapped address of whatever primary Sentinel names at connect time."""

    async def connect_to(self, address: tuple[str, int]) -> None:
        await super().connect_to(self.connection_pool.address_map.dial(*address))


class MappedSentinelPool(SentinelConnectionPool):
    def __init__(self, service_name: str, sentinel_manager: Sentinel, **kwargs: Any) -> None:
        self.address_map: AddressMap = kwargs.pop("address_map")
        kwargs["connection_class"] = MappedSentinelConnection
        super().__init__(service_name, sentinel_manager, **kwargs)


class RedisL2:
    def __init__(self, cfg: BackendConfig, metrics: Metrics) -> None:
        self._metrics = metrics
        self._timeout = cfg.redis_timeout_ms / 1000.0
        self._backoff = cfg.redis_backoff_ms / 1000.0
        self._down_until = 0.0
        self._master_name = cfg.master_name
        self._password = os.environ.get(REDIS_PASSWORD_ENV) or None
        self.sentinel: Sentinel | None = None
        self.address_map = AddressMap(cfg.redis_address_map)
        pubsub_map = cfg.pubsub_map()
        self.pubsub_address_map = AddressMap(pubsub_map)
        if cfg.sentinel_discovery:
            self.sentinel = Sentinel(
                [split_address(a) for a in cfg.sentinels],
                sentinel_kwargs={"socket_timeout": self._timeout, "socket_connect_timeout": self._timeout,
                                 "password": self._password},
            )
            self.primary: str | None = None
        else:
            assert cfg.redis_url is not None
            url = cfg.redis_url if "://" in cfg.redis_url else f"redis://{cfg.redis_url}"
            kw = aioredis.ConnectionPool.from_url(url).connection_kwargs
            self.primary = f"{kw.get('host', 'localhost')}:{kw.get('port', 6379)}"
        self.client: aioredis.Redis = self._connect(cfg, self.address_map)
        # The subscriber gets its own connection pool only when its path differs.
        self.pubsub_client = (
            self._connect(cfg, self.pubsub_address_map) if pubsub_map != cfg.redis_address_map else self.client
        )
        self._on_failover: list[Callable[[], Awaitable[None]]] = []

    def _connect(self, cfg: BackendConfig, amap: AddressMap) -> aioredis.Redis:
        t = self._timeout
        if self.sentinel is not None:
            return self.sentinel.master_for(
                cfg.master_name,
                connection_pool_class=MappedSentinelPool,
                address_map=amap,
                socket_timeout=t,
                socket_connect_timeout=t,
                password=self._password,
            )
        assert cfg.redis_url is not None and self.primary is not None
        url = cfg.redis_url if "://" in cfg.redis_url else f"redis://{cfg.redis_url}"
        client = aioredis.Redis.from_url(url, socket_timeout=t, socket_connect_timeout=t, password=self._password)
        kw = client.connection_pool.connection_kwargs
        kw["host"], kw["port"] = amap.dial(*split_address(self.primary))
        return client

    @property
    def primary_dialled(self) -> str | None:
        """The address the data connections dial for the primary Sentinel names now."""
        return self.address_map.dial_str(self.primary)

    @property
    def pubsub_dialled(self) -> str | None:
        return self.pubsub_address_map.dial_str(self.primary)

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    async def call(self, fn: Callable[[aioredis.Redis], Awaitable[T]], *, reply_error_trips: bool = True) -> T:
        """Run fn against the primary within the Redis timeout.

        reply_error_trips=False: an error reply (NOREPLICAS, OOM, ...) still raises, but does
        not put Redis into backoff, since the server did answer.
        """
        if time.monotonic() < self._down_until:
            raise L2Unavailable("redis in backoff")
        try:
            async with asyncio.timeout(self._timeout):
                return await fn(self.client)
        except TimeoutError as exc:
            self._fail("timeout")
            raise L2Unavailable("redis timeout") from exc
        except aioredis.ResponseError as exc:
            if reply_error_trips:
                self._fail(type(exc).__name__)
            else:
                self._metrics.redis_errors.labels(type(exc).__name__).inc()
            raise L2Unavailable(str(exc)) from exc
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
                    if self.pubsub_client is not self.client:
                        await self.pubsub_client.connection_pool.disconnect()
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
        if self.pubsub_client is not self.client:
            with contextlib.suppress(Exception):
                await self.pubsub_client.aclose()
