"""One direction of a proxied connection: source side -> toxic chain -> destination side.

With no active toxic the link is a plain copy (`ingress` writes straight to
the destination transport). With toxics, chunks go through a chain of stubs,
one task per active toxic, and the link itself is the sink at the end.
Changes to the chain are synchronous, so the API never waits on the data path.
"""

from __future__ import annotations

import asyncio
import random
from time import monotonic
from typing import Protocol

from .toxic_spec import ToxicSpec
from .toxics import Chunk, Stub


class Socket(Protocol):
    """One socket of a connection as a link sees it (`connection.Side`). A protocol, not an import,
    so that the link does not depend on the connection that builds it."""

    def pause(self, reason: int) -> None: ...

    def resume(self, reason: int) -> None: ...

    def close(self) -> None: ...

    def reset_connection(self) -> None: ...

# Bytes a link may hold inside its toxic chain before the source stops reading:
# bounds memory for slow toxics (bandwidth, latency) without dropping data.
HIGH_WATER = 1 << 20
LOW_WATER = HIGH_WATER // 4

PAUSE_DIAL = 1
PAUSE_WRITE = 2
PAUSE_CHAIN = 4


def roll(toxicity: float) -> bool:
    """Whether a toxic applies to one link (rolled once per link, as Toxiproxy does)."""
    return random.random() < toxicity


class Link:
    __slots__ = (
        "dest",
        "dest_closed",
        "dest_transport",
        "direction",
        "eof",
        "head",
        "loop",
        "pending",
        "source",
        "stubs",
    )

    def __init__(
        self,
        direction: str,
        source: Socket,
        dest: Socket,
        dest_transport: asyncio.Transport,
        toxics: list[ToxicSpec],
    ) -> None:
        self.direction = direction
        self.source = source
        self.dest = dest
        self.dest_transport = dest_transport
        self.dest_closed = False
        self.eof = False
        self.pending = 0
        self.loop = asyncio.get_running_loop()
        self.stubs: dict[str, Stub] = {}
        self.head: Stub | None = None
        for spec in toxics:
            self._add(spec)
        self._rewire()

    # -- data path -------------------------------------------------------

    def ingress(self, data: bytes) -> None:
        head = self.head
        if head is None:
            if not self.dest_closed:
                self.dest_transport.write(data)
            return
        self.pending += len(data)
        head.put(Chunk(data, monotonic()))
        if self.pending > HIGH_WATER:
            self.source.pause(PAUSE_CHAIN)

    def ingress_eof(self) -> None:
        if self.eof:
            return
        self.eof = True
        if self.head is None:
            self.dest.close()
        else:
            self.head.put(None)

    def put(self, item: Chunk | None) -> None:
        """Sink at the end of the toxic chain."""
        if item is None:
            self.dest.close()
            return
        self.release(len(item.data))
        if not self.dest_closed:
            self.dest_transport.write(item.data)

    def release(self, nbytes: int) -> None:
        self.pending -= nbytes
        if self.pending <= LOW_WATER:
            self.source.resume(PAUSE_CHAIN)

    def reset_connection(self) -> None:
        self.source.reset_connection()

    # -- chain changes (all synchronous) ---------------------------------

    def add_toxic(self, spec: ToxicSpec) -> None:
        self._add(spec)
        self._rewire()

    def update_toxic(self, spec: ToxicSpec) -> None:
        stub = self.stubs.get(spec.name)
        if stub is None:
            return
        was_active = stub.active
        self._stop(stub)
        if was_active:
            # Like a Toxiproxy interrupt: the chunk in hand goes on now, the queue stays.
            self._flush(stub, inbox=False)
        stub.toxic = spec.toxic
        stub.active = roll(spec.toxicity)
        if was_active and not stub.active:
            self._flush(stub, inbox=True)
        self._rewire()
        if stub.active:
            self._start(stub)

    def remove_toxic(self, name: str) -> None:
        stub = self.stubs.get(name)
        if stub is None:
            return
        if stub.active:
            self._stop(stub)
            if stub.toxic.closes_on_remove:
                self._discard(stub)
                assert stub.output is not None
                stub.output.put(None)
            else:
                self._flush(stub, inbox=True)
        del self.stubs[name]
        self._rewire()

    def shutdown(self) -> None:
        for stub in self.stubs.values():
            self._stop(stub)

    def _add(self, spec: ToxicSpec) -> None:
        stub = Stub(spec.toxic, self)
        self.stubs[spec.name] = stub
        stub.active = roll(spec.toxicity)
        if stub.active:
            # The task first runs after _rewire() has given the stub its output.
            self._start(stub)

    def _start(self, stub: Stub) -> None:
        stub.task = self.loop.create_task(stub.toxic.pipe(stub))

    def _stop(self, stub: Stub) -> None:
        # The stub is consistent at every await, so a cancelled pipe() is done
        # with as of now even though its task only unwinds on the next loop turn.
        task, stub.task = stub.task, None
        if task is not None:
            task.cancel()

    def _flush(self, stub: Stub, *, inbox: bool) -> None:
        out = stub.output
        if out is None:
            return
        if stub.held is not None:
            out.put(stub.held)
            stub.held = None
        if stub.holding_eof:
            out.put(None)
            stub.holding_eof = False
        if inbox:
            while stub.inbox:
                out.put(stub.inbox.popleft())

    def _discard(self, stub: Stub) -> None:
        dropped = len(stub.held.data) if stub.held is not None else 0
        dropped += sum(len(item.data) for item in stub.inbox if item is not None)
        stub.held = None
        stub.holding_eof = False
        stub.inbox.clear()
        if dropped:
            self.release(dropped)

    def _rewire(self) -> None:
        nxt: Stub | Link = self
        for stub in reversed(self.stubs.values()):
            if stub.active:
                stub.output = nxt
                nxt = stub
        self.head = nxt if isinstance(nxt, Stub) else None
