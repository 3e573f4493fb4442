"""bandwidth: limits a link to `rate` KB/s (KB = 1000 bytes); rate 0 holds all data."""

from __future__ import annotations

from .base import Chunk, Stub, Toxic, forever, sleep_seconds

# Toxiproxy releases large chunks in 100 ms slices so slow links still trickle.
SLICE_SECONDS = 0.1


def transfer_seconds(nbytes: int, rate_kb: int) -> float:
    """How long `nbytes` take at `rate_kb` KB/s."""
    return nbytes / (rate_kb * 1000.0)


def slice_sizes(nbytes: int, rate_kb: int) -> list[int]:
    """Sizes of the 100 ms slices a chunk is released in; they sum to nbytes."""
    per_slice = rate_kb * 100
    sizes = [per_slice] * ((nbytes - 1) // per_slice) if nbytes > per_slice else []
    sizes.append(nbytes - per_slice * len(sizes))
    return sizes


class BandwidthToxic(Toxic):
    type_name = "bandwidth"
    defaults = {"rate": 0}

    async def pipe(self, stub: Stub) -> None:
        rate = self.attributes["rate"]
        # Seconds of transmission owed; carrying it over (also when negative,
        # after a timer overshoot) keeps the long-run rate exact.
        owed = 0.0
        while True:
            chunk = await stub.recv()
            if chunk is None:
                stub.close()
                return
            if rate <= 0:
                await forever()
            owed += transfer_seconds(len(chunk.data), rate)
            data = chunk.data
            sizes = slice_sizes(len(data), rate)
            offset = 0
            for size in sizes[:-1]:
                await sleep_seconds(SLICE_SECONDS)
                owed -= SLICE_SECONDS
                part, offset = data[offset : offset + size], offset + size
                stub.send_part(Chunk(part, chunk.ts), Chunk(data[offset:], chunk.ts))
            rest = Chunk(data[offset:], chunk.ts) if offset else chunk
            start = stub.now()
            await sleep_seconds(owed)
            owed -= stub.now() - start
            stub.send(rest)
