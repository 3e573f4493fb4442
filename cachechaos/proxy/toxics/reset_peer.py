"""reset_peer: once data arrives, waits `timeout` ms and resets the connection (TCP RST)."""

from __future__ import annotations

from .base import Stub, Toxic, sleep_seconds


class ResetPeerToxic(Toxic):
    type_name = "reset_peer"
    defaults = {"timeout": 0}

    async def pipe(self, stub: Stub) -> None:
        chunk = await stub.recv()
        if chunk is not None:
            stub.drop(chunk)
        await sleep_seconds(self.attributes["timeout"] / 1000.0)
        stub.reset()
