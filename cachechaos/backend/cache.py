"""The product read and write paths: L1, the strategy's L2, PostgreSQL, and the protections."""

from __future__ import annotations

import asyncio
import random
import time
from decimal import Decimal
from typing import Any

from cachechaos.backend.config import BackendConfig
from cachechaos.backend.db import Database, Product
from cachechaos.backend.entry import Entry, make_entry
from cachechaos.backend.expiry import jittered_ttl, window_should_refresh, xfetch_should_refresh
from cachechaos.backend.hooks import DebugHooks
from cachechaos.backend.hotkeys import HotKeyDetector
from cachechaos.backend.l1 import L1Cache
from cachechaos.backend.l2 import RedisL2
from cachechaos.backend.metrics import Metrics
from cachechaos.backend.popularity import Popularity
from cachechaos.backend.singleflight import SingleFlight
from cachechaos.backend.strategies import Deps, Lookup, make_strategy, product_key

Served = tuple[Entry, str]  # the entry (product None: not found) and the layer: l1, l2, miss


class ProductCache:
    def __init__(
        self,
        cfg: BackendConfig,
        db: Database,
        l2: RedisL2 | None,
        metrics: Metrics,
        hooks: DebugHooks,
    ) -> None:
        self.cfg = cfg
        self.db = db
        self.metrics = metrics
        self.hooks = hooks
        bug_l1 = cfg.bugs.l1_long_ttl_no_invalidation
        if bug_l1.enabled:
            self.l1_ttl = bug_l1.ttl_s
        elif cfg.strategy == "event":
            self.l1_ttl = cfg.event.fallback_ttl_s
        else:
            self.l1_ttl = cfg.l1.ttl_s
        self.l1: L1Cache[Entry] = L1Cache(cfg.l1.max_entries, self.l1_ttl)
        self.strategy = make_strategy(Deps(cfg, l2, self.l1, metrics))
        s = self.strategy
        self.l1_all = s.caches_l2 and (bug_l1.enabled or (cfg.l1.enabled and s.l1_all))
        self.invalidate_l1 = s.write_invalidates_l1 and not bug_l1.enabled
        self.hot = (
            HotKeyDetector(cfg.hot_keys.threshold_rps, cfg.hot_keys.window_s)
            if cfg.hot_keys.enabled and s.caches_l2
            else None
        )
        wc = cfg.warmup
        self.popularity = (Popularity(l2, wc.popularity_key)
                           if wc.enabled and wc.source == "observed" and l2 is not None and s.caches_l2 else None)
        self.sf: SingleFlight[Served] | None = (
            SingleFlight(metrics.singleflight_joins.inc) if cfg.single_flight.enabled else None
        )
        er = cfg.early_refresh
        self.early_refresh = er.enabled and s.early_refresh and s.caches_l2
        self._refreshing: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        stale = cfg.bugs.serve_stale
        self.stale_p = stale.probability if stale.enabled else 0.0
        self._previous: L1Cache[Product] = L1Cache(cfg.l1.max_entries, 3600.0)

    # --- reads -------------------------------------------------------------------------

    async def get(self, pid: int) -> Served:
        if not self.strategy.caches_l2:
            product = await self.db.get_product(pid)
            return self._served(pid, make_entry(product, 0.0, 0.0)), "miss"
        key = product_key(pid)
        if self.popularity is not None:
            self.popularity.read(pid)
        hot = self.hot is not None and self.hot.hit(key)
        if self.l1_all or hot:
            self.metrics.req_l1.inc()
            e = self.l1.get(key)
            if e is not None:
                self.metrics.hit_l1.inc()
                if self.early_refresh:
                    self._maybe_refresh(pid, e)
                return self._served(pid, e), "l1"
        if self.sf is not None:
            (e, layer), _joined = await self.sf.do(key, lambda: self._miss(pid, key, hot))
        else:
            e, layer = await self._miss(pid, key, hot)
        return self._served(pid, e), layer

    async def get_uncached(self, pid: int) -> Served:
        """The row as PostgreSQL holds it now, past every cache (a `Cache-Control: no-cache` read)."""
        return make_entry(await self.db.get_product(pid), 0.0, 0.0), "miss"

    async def _miss(self, pid: int, key: str, hot: bool) -> Served:
        self.metrics.req_l2.inc()
        lk = await self.strategy.lookup(pid)
        e = lk.entry
        if e is not None:
            self.metrics.hit_l2.inc()
            if e.product is None:
                self.metrics.negative_hits.inc()
            if not e.stale:
                self._l1_set(key, e, hot)
                if self.early_refresh:
                    self._maybe_refresh(pid, e)
            return e, "l2"
        return await self._load(pid, key, lk, hot), "miss"

    async def _load(self, pid: int, key: str, lk: Lookup, hot: bool) -> Entry:
        t0 = time.perf_counter()
        product = await self.db.get_product(pid)
        delta = time.perf_counter() - t0
        if product is None and not self.cfg.negative.enabled:
            return make_entry(None, 0.0, delta)
        entry = make_entry(product, self._ttl(product is not None), delta)
        if self.hooks.enabled:
            await self.hooks.point("before_fill", key)
        if lk.fill:
            await self.strategy.fill(pid, entry, lk)
        self._l1_set(key, entry, hot)
        return entry

    def _ttl(self, found: bool) -> float:
        base = self.cfg.l2.ttl_s if found else self.cfg.negative.ttl_s
        j = self.cfg.jitter
        return jittered_ttl(base, j.percent) if j.enabled else base

    def _l1_set(self, key: str, e: Entry, hot: bool) -> None:
        if self.l1_all:
            ttl = self.l1_ttl
        elif hot:
            ttl = self.cfg.hot_keys.ttl_s
        else:
            return
        if e.product is None:
            ttl = min(ttl, self.cfg.negative.ttl_s)
        self.l1.set(key, e, ttl)

    def _maybe_refresh(self, pid: int, e: Entry) -> None:
        if e.product is None or pid in self._refreshing:
            return
        er = self.cfg.early_refresh
        now = time.time()
        if er.mode == "xfetch":
            due = xfetch_should_refresh(now, e.exp, e.delta, er.beta)
        else:
            due = window_should_refresh(now, e.exp, er.window_s)
        if due:
            self._refreshing.add(pid)
            self._spawn(self._refresh(pid))

    async def _refresh(self, pid: int) -> None:
        try:
            t0 = time.perf_counter()
            product = await self.db.get_product(pid)
            if product is None:
                return
            entry = make_entry(product, self._ttl(True), time.perf_counter() - t0)
            await self.strategy.fill(pid, entry, Lookup())
            key = product_key(pid)
            if self.l1_all or key in self.l1:
                self.l1.set(key, entry, self.l1_ttl if self.l1_all else self.cfg.hot_keys.ttl_s)
            self.metrics.early_refreshes.inc()
        except Exception:
            self.metrics.errors.labels("early_refresh").inc()
        finally:
            self._refreshing.discard(pid)

    def _served(self, pid: int, e: Entry) -> Entry:
        """The serve-stale bug: with probability p answer the version before the newest known."""
        if self.stale_p <= 0.0 or e.product is None or e.version <= 1:
            return e
        if random.random() >= self.stale_p:
            return e
        prev = self._previous.get(str(pid))
        if prev is None or prev["version"] >= e.version:
            prev = {**e.product, "version": e.version - 1}
        self.metrics.stale_served.labels("bug").inc()
        return e.older(prev)

    # --- writes ------------------------------------------------------------------------

    async def write_price(self, pid: int, price: Decimal) -> Product | None:
        res = await self.db.update_price(pid, price)
        if res is None:
            return None
        product, old_price = res
        if self.stale_p > 0.0:
            old = {**product, "price": old_price, "version": product["version"] - 1}
            self._previous.set(str(pid), old)
        await self.after_write([product], bulk=False)
        return product

    async def discount(self, category_id: int, percent: Decimal) -> list[Product] | None:
        res = await self.db.discount_category(category_id, percent, bump_tag=True)
        if res is None:
            return None
        products, _tag = res
        if self.cfg.bugs.bulk_discount_forgets_invalidation.enabled:
            return products  # the Black Friday incident: the DB changed, no cache heard of it
        await self.after_write(products, bulk=True)
        return products

    async def after_write(self, products: list[Product], bulk: bool) -> None:
        if not self.strategy.caches_l2:
            return
        if self.invalidate_l1:
            for p in products:
                self.l1.delete(product_key(p["id"]))
        entries = [make_entry(p, self._ttl(True), 0.0) for p in products]
        await self.strategy.after_write(entries, bulk)

    # --- warm-up -----------------------------------------------------------------------

    async def warm_up(self) -> int:
        """Load the top-N products in batches; returns how many were filled."""
        wc = self.cfg.warmup
        if not self.strategy.caches_l2 or wc.top_n <= 0:
            return 0
        if self.popularity is not None:
            top = await self.popularity.top(wc.top_n)
        else:
            top = [p["id"] for p in await self.db.top_products(wc.top_n)]
        done = 0
        for i in range(0, len(top), wc.batch_size):
            ids = top[i : i + wc.batch_size]
            # Take leases (or whatever the strategy needs) before reading, so a write landing
            # between our read and our fill invalidates the fill instead of being overwritten.
            lookups = await asyncio.gather(*(self.strategy.lookup(pid) for pid in ids))
            for pid, lk in zip(ids, lookups, strict=True):
                if lk.entry is not None:
                    # Already in L2 (a deploy restarts instances, not Redis): the L1 is what is cold.
                    self._l1_set(product_key(pid), lk.entry, False)
            todo = [(pid, lk) for pid, lk in zip(ids, lookups, strict=True) if lk.entry is None]
            fresh = await self.db.get_products([pid for pid, _ in todo])
            fills = []
            for pid, lk in todo:
                product = fresh.get(pid)
                if product is None:
                    continue
                entry = make_entry(product, self._ttl(True), 0.0)
                self._l1_set(product_key(pid), entry, False)
                if lk.fill:
                    fills.append(self.strategy.fill(pid, entry, lk))
            await asyncio.gather(*fills)
            done += len(ids)
            self.metrics.warmup_loaded.inc(len(ids))
        return done

    # --- lifecycle ---------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        await self.strategy.start()
        if self.popularity is not None:
            self.popularity.start()

    async def stop(self) -> None:
        if self.popularity is not None:
            await self.popularity.stop()
        for t in list(self._tasks):
            t.cancel()
        await self.strategy.stop()
