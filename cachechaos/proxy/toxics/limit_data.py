"""limit_data: closes the connection after `bytes` bytes have passed in this direction."""

from __future__ import annotations

from typing import Any

from .base import Chunk, Stub, Toxic


class _Transmitted:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class LimitDataToxic(Toxic):
    type_name = "limit_data"
    defaults = {"bytes": 0}

    def new_state(self) -> Any:
        return _Transmitted()

    async def pipe(self, stub: Stub) -> None:
        sent: _Transmitted = stub.state
        limit = self.attributes["bytes"]
        while True:
            chunk = await stub.recv()
            if chunk is None:
                stub.close()
                return
            allowed = max(0, limit - sent.count)
            if len(chunk.data) > allowed:
                stub.hooks.release(len(chunk.data) - allowed)
                chunk = Chunk(chunk.data[:allowed], chunk.ts)
            if chunk.data:
                sent.count += len(chunk.data)
                stub.send(chunk)
            else:
                stub.held = None
            if sent.count >= limit:
                stub.close()
                return
