"""slicer: splits chunks into pieces of average_size ± size_variation bytes, `delay` µs apart."""

from __future__ import annotations

import random

from .base import Chunk, Stub, Toxic, sleep_seconds


def slice_bounds(size: int, average: int, variation: int, rng: random.Random) -> list[int]:
    """Offsets 0 = b0 < b1 < ... < bn = size cutting `size` bytes into slices.

    Halves ranges (with a random shift of ± variation) until each is within
    `variation` of `average`, so slice sizes vary evenly along the chunk.
    """
    if size <= 0:
        return [0, 0]
    average = max(1, average)
    variation = min(variation, average - 1) if average > 1 else 0
    bounds = [0]
    stack = [(0, size)]
    while stack:
        start, end = stack.pop()
        length = end - start
        if length - average <= variation or length < 2:
            bounds.append(end)
            continue
        shift = rng.randint(-variation, variation) if variation else 0
        mid = min(end - 1, max(start + 1, start + length // 2 + shift))
        # Right half first so that popping yields ranges left to right.
        stack.append((mid, end))
        stack.append((start, mid))
    return bounds


class SlicerToxic(Toxic):
    type_name = "slicer"
    defaults = {"average_size": 0, "size_variation": 0, "delay": 0}

    async def pipe(self, stub: Stub) -> None:
        average = self.attributes["average_size"]
        variation = self.attributes["size_variation"]
        delay = self.attributes["delay"] / 1_000_000.0
        rng = random.Random()
        while True:
            chunk = await stub.recv()
            if chunk is None:
                stub.close()
                return
            data = chunk.data
            bounds = slice_bounds(len(data), average, variation, rng)
            for i in range(1, len(bounds) - 1):
                part = Chunk(data[bounds[i - 1] : bounds[i]], chunk.ts)
                stub.send_part(part, Chunk(data[bounds[i] :], chunk.ts))
                await sleep_seconds(delay)
            stub.send(Chunk(data[bounds[-2] :], chunk.ts))
