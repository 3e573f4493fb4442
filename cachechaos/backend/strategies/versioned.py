"""Versions in the key, and a tag version per category that a bulk change bumps.

Data keys are immutable (product:{id}:v{version}:t{tag}); a pointer pver:{id} names the
newest version known, and only ever grows. A fill of an old row writes an old key the pointer
does not lead to, so the cache-aside race cannot leave a stale entry behind; a category
discount bumps ctag:{cid} and every product of it misses once, without one DEL.
"""

from __future__ import annotations

import contextlib
from typing import Any

from cachechaos.backend.entry import Entry, decode, encode
from cachechaos.backend.l2 import L2Unavailable
from cachechaos.backend.strategies.base import Lookup, Strategy

# ARGV: id. Returns the stored value or false.
_GET = """
local ptr = redis.call('GET', 'pver:' .. ARGV[1])
if not ptr then return redis.call('GET', 'product:' .. ARGV[1] .. ':neg') end
local ver, cid = string.match(ptr, '^(%d+) (%d+)$')
if not ver then return false end
local tag = redis.call('GET', 'ctag:' .. cid)
if not tag then return false end
return redis.call('GET', 'product:' .. ARGV[1] .. ':v' .. ver .. ':t' .. tag)
"""
# ARGV: id, version, category, tag, value ('' for pointer and tag only), ttl_ms
_FILL = """
local p = 'pver:' .. ARGV[1]
local cur = redis.call('GET', p)
local curver = cur and tonumber(string.match(cur, '^(%d+)')) or 0
if curver < tonumber(ARGV[2]) then
  redis.call('SET', p, ARGV[2] .. ' ' .. ARGV[3], 'PX', ARGV[6])
end
local tk = 'ctag:' .. ARGV[3]
local ct = redis.call('GET', tk)
if (not ct) or tonumber(ct) < tonumber(ARGV[4]) then redis.call('SET', tk, ARGV[4]) end
if ARGV[5] ~= '' then
  local k = 'product:' .. ARGV[1] .. ':v' .. ARGV[2] .. ':t' .. ARGV[4]
  redis.call('SET', k, ARGV[5], 'PX', ARGV[6])
end
return 1
"""
# ARGV: category, tag
_BUMP_TAG = """
local tk = 'ctag:' .. ARGV[1]
local ct = redis.call('GET', tk)
if (not ct) or tonumber(ct) < tonumber(ARGV[2]) then redis.call('SET', tk, ARGV[2]) end
return 1
"""


class VersionedKeys(Strategy):
    name = "versioned"
    l1_all = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        c = self.l2.client
        self._get = c.register_script(_GET)
        self._fill = c.register_script(_FILL)
        self._bump_tag = c.register_script(_BUMP_TAG)

    async def lookup(self, pid: int) -> Lookup:
        try:
            raw = await self.l2.call(lambda r: self._get(keys=[], args=[pid], client=r))
        except L2Unavailable:
            return Lookup(fill=self.l2.available)
        return Lookup(decode(raw) if raw else None)

    async def fill(self, pid: int, entry: Entry, lookup: Lookup) -> None:
        if entry.product is None:
            await self._fill_negative(pid, entry)
        else:
            await self._store(entry, with_value=True)

    async def _store(self, entry: Entry, with_value: bool) -> None:
        p = entry.product
        try:
            if p is None:
                return
            args = [
                p["id"],
                p["version"],
                p["category_id"],
                p["tag"],
                encode(entry) if with_value else "",
                entry.ttl_ms(),
            ]
            await self.l2.call(lambda r: self._fill(keys=[], args=args, client=r))
        except L2Unavailable:
            self.metrics.errors.labels("invalidation_lost").inc()

    async def _fill_negative(self, pid: int, entry: Entry) -> None:
        with contextlib.suppress(L2Unavailable):
            await self.l2.call(lambda r: r.set(f"product:{pid}:neg", encode(entry), px=entry.ttl_ms()))

    async def after_write(self, entries: list[Entry], bulk: bool) -> None:
        if not entries:
            return
        if bulk:
            # One tag bump stands for every product of the category.
            p = entries[0].product
            assert p is not None
            try:
                await self.l2.call(lambda r: self._bump_tag(keys=[], args=[p["category_id"], p["tag"]], client=r))
                self.metrics.invalidations_sent.inc()
            except L2Unavailable:
                self.metrics.errors.labels("invalidation_lost").inc()
            return
        for e in entries:
            # Moving the pointer is enough; the new value itself is filled by the next reader.
            await self._store(e, with_value=False)
        self.metrics.invalidations_sent.inc(len(entries))
