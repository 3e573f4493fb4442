"""noop: passes data through unchanged (useful to test toxic plumbing)."""

from __future__ import annotations

from .base import Stub, Toxic


class NoopToxic(Toxic):
    type_name = "noop"
    defaults = {}

    async def pipe(self, stub: Stub) -> None:
        while True:
            chunk = await stub.recv()
            if chunk is None:
                stub.close()
                return
            stub.send(chunk)
