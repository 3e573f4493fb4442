"""slow_close: delays closing the connection by `delay` ms after the stream ends."""

from __future__ import annotations

from .base import Stub, Toxic, sleep_seconds


class SlowCloseToxic(Toxic):
    type_name = "slow_close"
    defaults = {"delay": 0}

    async def pipe(self, stub: Stub) -> None:
        while True:
            chunk = await stub.recv()
            if chunk is None:
                await sleep_seconds(self.attributes["delay"] / 1000.0)
                stub.close()
                return
            stub.send(chunk)
