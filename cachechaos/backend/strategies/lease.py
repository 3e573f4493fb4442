"""Memcache-style leases (Nishtala et al., "Scaling Memcache at Facebook", NSDI 2013).

A miss takes a lease token; a write deletes the value and the lease; a fill lands only if
its token is still the current lease. All three steps are Lua scripts, so each is atomic.
One lease per key per lease TTL: other readers wait, or get the last deleted value flagged.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import redis.asyncio as aioredis

from cachechaos.backend.entry import Entry, decode, encode
from cachechaos.backend.l2 import L2Unavailable
from cachechaos.backend.strategies.base import Lookup, Strategy, product_key

# 1 hit, 2 lease granted, 3 someone else's lease (with the stale value, if kept), 4 wait
_GET = """
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, ARGV[1]} end
local s = redis.call('GET', KEYS[3])
if s then return {3, s} end
return {4, ''}
"""
_FILL = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""
_INVALIDATE = """
for i = 1, #KEYS, 3 do
  local v = redis.call('GET', KEYS[i])
  if v then redis.call('SET', KEYS[i + 2], v, 'PX', ARGV[1]) end
  redis.call('DEL', KEYS[i], KEYS[i + 1])
end
return 1
"""


def lease_key(pid: int) -> str:
    return f"lease:product:{pid}"


def stale_key(pid: int) -> str:
    return f"stale:product:{pid}"


class LeaseStrategy(Strategy):
    name = "lease"
    l1_all = False
    early_refresh = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        c = self.l2.client
        self._get = c.register_script(_GET)
        self._fill = c.register_script(_FILL)
        self._invalidate = c.register_script(_INVALIDATE)

    async def lookup(self, pid: int) -> Lookup:
        lc = self.cfg.lease
        keys = [product_key(pid), lease_key(pid), stale_key(pid)]
        deadline = time.monotonic() + lc.max_wait_ms / 1000.0
        token = secrets.token_hex(8)
        while True:
            try:
                state, payload = await self.l2.call(lambda r: self._get(keys=keys, args=[token, lc.ttl_ms], client=r))
            except L2Unavailable:
                return Lookup(fill=False)
            state = int(state)
            if state == 1:
                return Lookup(decode(payload))
            if state == 2:
                return Lookup(token=token)
            if state == 3 and lc.serve_stale:
                entry = decode(payload)
                entry.stale = True
                self.metrics.stale_served.labels("lease").inc()
                return Lookup(entry)
            if time.monotonic() >= deadline:
                # Waited long enough: read the DB, but do not fill without a lease.
                return Lookup(fill=False)
            self.metrics.lease_waits.inc()
            await asyncio.sleep(lc.wait_ms / 1000.0)

    async def fill(self, pid: int, entry: Entry, lookup: Lookup) -> None:
        if lookup.token is None:
            return
        args: list[str | bytes | int] = [lookup.token, encode(entry), entry.ttl_ms()]
        keys = [product_key(pid), lease_key(pid)]
        try:
            ok = await self.l2.call(lambda r: self._fill(keys=keys, args=args, client=r))
        except L2Unavailable:
            return
        if not int(ok):
            self.metrics.lease_fills_rejected.inc()

    async def after_write(self, entries: list[Entry], bulk: bool) -> None:
        pids = [int(e.product["id"]) for e in entries if e.product]
        stale_ms = int(self.cfg.lease.stale_ttl_s * 1000)

        async def run(r: aioredis.Redis, chunk: list[int]) -> Any:
            keys = [k for p in chunk for k in (product_key(p), lease_key(p), stale_key(p))]
            return await self._invalidate(keys=keys, args=[stale_ms], client=r)

        await self._send_invalidations(pids, 500, run)
