"""timeout: drops all data and closes the connection after `timeout` ms (0: never).

Removing the toxic closes the connections it was holding, as in Toxiproxy.
"""

from __future__ import annotations

import asyncio

from .base import Stub, Toxic


class TimeoutToxic(Toxic):
    type_name = "timeout"
    defaults = {"timeout": 0}
    closes_on_remove = True

    async def pipe(self, stub: Stub) -> None:
        timeout_ms = self.attributes["timeout"]
        deadline = stub.now() + timeout_ms / 1000.0 if timeout_ms > 0 else None
        while True:
            if deadline is None:
                chunk = await stub.recv()
            else:
                try:
                    chunk = await asyncio.wait_for(stub.recv(), max(0.0, deadline - stub.now()))
                except TimeoutError:
                    stub.close()
                    return
            if chunk is None:
                stub.close()
                return
            stub.drop(chunk)
