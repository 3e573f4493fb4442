"""The interface every toxic implements, and the per-link stub it runs on.

Like Toxiproxy, a toxic holds only its settings; everything a single
connection needs (its queue, the chunk in hand, per-connection state) lives on
the `Stub`. A toxic's `pipe()` runs as one task per link and may be cancelled
at any `await`: the stub is built so that cancellation never loses a chunk
(`recv()` pops nothing until it returns, and the chunk in hand is kept in
`held` until `send()`), which is what lets the link add, update and remove
toxics synchronously while data flows.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, ClassVar, Protocol

INT64_MAX = 2**63 - 1
# asyncio/uvloop timers overflow long before int64 milliseconds; a day-long
# sleep is "forever" for a chaos run and keeps every timer representable.
MAX_SLEEP_SECONDS = 86_400.0


class Chunk:
    """Bytes read from one side, stamped with the time.monotonic() they were read at."""

    __slots__ = ("data", "ts")

    def __init__(self, data: bytes, ts: float) -> None:
        self.data = data
        self.ts = ts


class Outlet(Protocol):
    """Where a stub sends chunks: the next stub or the link's sink. None means close."""

    def put(self, item: Chunk | None) -> None: ...


class LinkHooks(Protocol):
    """What a toxic may ask of the link it runs on."""

    def release(self, nbytes: int) -> None: ...

    def reset_connection(self) -> None: ...


class Stub:
    """One toxic on one link: its input queue, its output, its per-connection state."""

    __slots__ = (
        "_waiter",
        "active",
        "held",
        "holding_eof",
        "hooks",
        "inbox",
        "output",
        "state",
        "task",
        "toxic",
    )

    def __init__(self, toxic: Toxic, hooks: LinkHooks) -> None:
        self.toxic = toxic
        self.hooks = hooks
        self.inbox: deque[Chunk | None] = deque()
        self.output: Outlet | None = None
        self.held: Chunk | None = None
        # recv() returned end-of-stream and close() has not passed it on yet.
        self.holding_eof = False
        self.state: Any = toxic.new_state()
        self.active = False
        self.task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: Chunk | None) -> None:
        self.inbox.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def recv(self) -> Chunk | None:
        """Next chunk, or None at end of stream. The returned chunk is `held` until sent."""
        while not self.inbox:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self.inbox.popleft()
        self.held = item
        self.holding_eof = item is None
        return item

    def send(self, chunk: Chunk) -> None:
        """Pass the held chunk (or a replacement for it) on."""
        self.held = None
        assert self.output is not None
        self.output.put(chunk)

    def send_part(self, part: Chunk, rest: Chunk) -> None:
        """Pass on part of the held chunk; `rest` becomes the held remainder."""
        self.held = rest
        assert self.output is not None
        self.output.put(part)

    def drop(self, chunk: Chunk) -> None:
        """Discard the held chunk (the data is lost on purpose, as the toxic says)."""
        self.held = None
        self.hooks.release(len(chunk.data))

    def close(self) -> None:
        """Close the stream downstream of this toxic; the connection closes with it."""
        self.held = None
        self.holding_eof = False
        assert self.output is not None
        self.output.put(None)

    def reset(self) -> None:
        """Close the whole connection with a TCP RST on both sides."""
        self.held = None
        self.holding_eof = False
        self.hooks.reset_connection()

    def now(self) -> float:
        return time.monotonic()


class Toxic:
    """Settings of one toxic type; `pipe()` applies them to one link."""

    type_name: ClassVar[str]
    defaults: ClassVar[dict[str, int]]
    # Toxiproxy's timeout toxic closes the connections it was holding when it is removed.
    closes_on_remove: ClassVar[bool] = False

    def __init__(self, attributes: dict[str, int]) -> None:
        self.attributes = attributes

    def new_state(self) -> Any:
        """Per-connection state that survives updates of the toxic (e.g. bytes counted)."""
        return None

    async def pipe(self, stub: Stub) -> None:
        raise NotImplementedError


async def sleep_seconds(seconds: float) -> None:
    """Sleep at least `seconds`: loop timers (uvloop's in whole ms) may fire a little early."""
    if seconds <= 0:
        return
    deadline = time.monotonic() + min(seconds, MAX_SLEEP_SECONDS)
    while (remaining := deadline - time.monotonic()) > 0:
        # Below a millisecond a timer cannot help; yielding keeps sub-ms delays short.
        await asyncio.sleep(remaining if remaining >= 0.001 else 0)


async def forever() -> None:
    await asyncio.get_running_loop().create_future()


def parse_attributes(
    defaults: dict[str, int], raw: object, base: dict[str, int] | None = None
) -> dict[str, int]:
    """Merge JSON `raw` attributes onto `base` (or the defaults); raise ValueError if malformed.

    Unknown keys are ignored and null leaves a value unchanged, as Go's JSON
    decoder does; values must be non-negative integers that fit in int64.
    """
    merged = dict(defaults if base is None else base)
    if raw is None:
        return merged
    if not isinstance(raw, dict):
        raise ValueError("attributes must be a JSON object")
    for key in defaults:
        if key not in raw or raw[key] is None:
            continue
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"attribute {key!r} must be an integer, got {value!r}")
        if value < 0 or value > INT64_MAX:
            raise ValueError(f"attribute {key!r} must be between 0 and {INT64_MAX}")
        merged[key] = value
    return merged
