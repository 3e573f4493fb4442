"""latency: delays every chunk by latency ± jitter ms, counted from when it was read."""

from __future__ import annotations

import random

from .base import Stub, Toxic, sleep_seconds


def latency_delay_ms(latency: int, jitter: int, rng: random.Random) -> int:
    """The delay for one chunk: latency plus a uniform offset in [-jitter, jitter)."""
    if jitter > 0:
        return latency + rng.randrange(2 * jitter) - jitter
    return latency


class LatencyToxic(Toxic):
    type_name = "latency"
    defaults = {"latency": 0, "jitter": 0}

    async def pipe(self, stub: Stub) -> None:
        latency, jitter = self.attributes["latency"], self.attributes["jitter"]
        rng = random.Random()
        while True:
            chunk = await stub.recv()
            if chunk is None:
                stub.close()
                return
            # Measured from read time so a pipeline of chunks is delayed once, not cumulatively.
            delay = latency_delay_ms(latency, jitter, rng) / 1000.0
            await sleep_seconds(delay - (stub.now() - chunk.ts))
            stub.send(chunk)
