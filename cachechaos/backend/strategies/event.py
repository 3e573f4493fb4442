"""DEL in Redis plus an invalidation event over pub/sub that every instance applies to its L1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from cachechaos.backend.entry import Entry
from cachechaos.backend.l2 import L2Unavailable
from cachechaos.backend.strategies.base import Strategy, product_key

log = logging.getLogger("cachechaos.backend.event")


class EventInvalidation(Strategy):
    name = "event"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="invalidation-listener")
        self.l2.on_failover(self._resubscribe)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task

    async def _resubscribe(self) -> None:
        # The listener loop reconnects through Sentinel on its own once its connection drops.
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self._task = asyncio.create_task(self._listen(), name="invalidation-listener")

    async def after_write(self, entries: list[Entry], bulk: bool) -> None:
        keys = [product_key(e.product["id"]) for e in entries if e.product]
        if not keys:
            return
        await self._delete(keys)
        msg = json.dumps({"keys": keys, "origin": self.cfg.instance, "ts": time.time()})
        try:
            await self.l2.call(lambda r: r.publish(self.cfg.event.channel, msg))
        except L2Unavailable:
            # Other instances keep their copy until the fallback TTL: that is the design bound.
            self.metrics.errors.labels("event_lost").inc()

    def apply(self, raw: bytes | str) -> None:
        try:
            doc = json.loads(raw)
            keys = doc["keys"]
            ts = float(doc.get("ts", 0.0))
        except (ValueError, KeyError, TypeError):
            self.metrics.errors.labels("bad_event").inc()
            return
        if not self.cfg.bugs.l1_long_ttl_no_invalidation.enabled:
            l1 = self.deps.l1
            for k in keys:
                l1.delete(k)
        self.metrics.invalidations_applied.inc(len(keys))
        if ts:
            self.metrics.invalidation_latency.observe(max(0.0, time.time() - ts))

    async def _listen(self) -> None:
        lost = False
        while True:
            # Its own path when pubsub_address_map says so; publishing stays on the data client.
            pubsub = self.l2.pubsub_client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.cfg.event.channel)
                if lost:
                    # Events published while we were away are gone: drop what they may have hit.
                    self.deps.l1.clear()
                    lost = False
                while True:
                    msg = await pubsub.get_message(timeout=1.0)
                    if msg is not None and msg.get("type") == "message":
                        self.apply(msg["data"])
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                raise
            except Exception as exc:
                log.debug("invalidation listener lost its connection: %s", exc)
                lost = True
                self.metrics.redis_errors.labels("pubsub").inc()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                await asyncio.sleep(0.2)
