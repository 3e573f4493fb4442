"""The composition root of one instance: connections, caches, background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging

from cachechaos.backend.cache import ProductCache
from cachechaos.backend.carts import make_carts
from cachechaos.backend.config import BackendConfig
from cachechaos.backend.db import Database
from cachechaos.backend.hooks import DebugHooks
from cachechaos.backend.l2 import RedisL2
from cachechaos.backend.metrics import Metrics

log = logging.getLogger("cachechaos.backend")


class Backend:
    def __init__(self, cfg: BackendConfig) -> None:
        self.cfg = cfg
        self.metrics = Metrics(cfg.instance)
        self.metrics.info.labels(cfg.instance, cfg.strategy).set(1)
        self.hooks = DebugHooks(cfg.debug_hooks)
        self.db = Database(cfg.postgres_dsn, cfg.pg_pool_size, cfg.pg_timeout_ms, self.metrics)
        self.l2 = RedisL2(cfg, self.metrics) if cfg.uses_redis else None
        self.products = ProductCache(cfg, self.db, self.l2, self.metrics, self.hooks)
        self.carts = make_carts(cfg, self.db, self.l2, self.metrics)
        self.warm = not cfg.warmup.enabled
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.db.open()
        if self.l2 is not None:
            self._tasks.append(asyncio.create_task(self.l2.watch_primary(), name="sentinel-watch"))
        await self.products.start()
        self._tasks.append(asyncio.create_task(self._gauges(), name="gauges"))
        if self.cfg.warmup.enabled:
            if self.cfg.warmup.blocking:
                await self._warm_up()
            else:
                self._tasks.append(asyncio.create_task(self._warm_up(), name="warm-up"))
        # Startup objects (modules, pools, warmed entries) live forever: keep them out of the
        # cyclic GC's generations so full collections stay short on the request path.
        gc.collect()
        gc.freeze()

    async def _warm_up(self) -> None:
        try:
            n = await self.products.warm_up()
            log.info("warm-up loaded %d products", n)
        except Exception as exc:  # a cold start is slower, not fatal
            log.warning("warm-up failed: %s", exc)
            self.metrics.errors.labels("warmup").inc()
        self.warm = True

    async def _gauges(self) -> None:
        hot = self.products.hot
        reported = 0
        while True:
            self.metrics.l1_entries.set(len(self.products.l1))
            if hot is not None:
                self.metrics.hot_keys.set(hot.hot_count())
                # The detector counts on the hot path without touching Prometheus.
                self.metrics.hot_keys_total.inc(hot.detected_total - reported)
                reported = hot.detected_total
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self.products.stop()
        if self.l2 is not None:
            await self.l2.close()
        await self.db.close()
