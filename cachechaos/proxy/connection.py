"""A client connection through a proxy: the two sockets and the two links between them."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Protocol, cast

from .addresses import split_address
from .link import PAUSE_DIAL, PAUSE_WRITE, Link
from .toxic_spec import ToxicSpec

_LINGER_ZERO = struct.pack("ii", 1, 0)
# Larger transport buffers mean fewer pause/resume round trips on bulk transfers.
_WRITE_HIGH_WATER = 512 * 1024


class Proxy(Protocol):
    """The proxy a connection belongs to, as the connection sees it (`served_proxy.ServedProxy`, which
    builds connections: a protocol keeps the two modules from importing each other)."""

    upstream: str
    connections: set[Connection]

    def toxics_for(self, stream: str) -> list[ToxicSpec]: ...


class Side(asyncio.Protocol):
    """One socket of a connection (the client's or the upstream's)."""

    __slots__ = ("closed", "conn", "early", "early_eof", "into", "out", "paused", "transport")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.out: Link | None = None  # data read here goes into this link
        self.into: Link | None = None  # this link writes here
        self.paused = 0
        self.closed = False
        # What the client sent before the upstream was connected.
        self.early: list[bytes] = []
        self.early_eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=_WRITE_HIGH_WATER)
        self.conn.side_made(self)

    def data_received(self, data: bytes) -> None:
        out = self.out
        if out is None:
            self.early.append(data)
        elif out.head is None and not out.dest_closed:
            # The no-toxic fast path, inlined: this runs once per read.
            out.dest_transport.write(data)
        else:
            out.ingress(data)

    def eof_received(self) -> bool:
        if self.out is not None:
            self.out.ingress_eof()
        else:
            self.early_eof = True
        # Keep the socket open for writing: the other direction closes it when
        # its own stream ends, which is how the close cascades through toxics.
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.conn.side_lost(self)

    def pause_writing(self) -> None:
        if self.into is not None:
            self.into.source.pause(PAUSE_WRITE)

    def resume_writing(self) -> None:
        if self.into is not None:
            self.into.source.resume(PAUSE_WRITE)

    def pause(self, reason: int) -> None:
        if not self.paused and self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
        self.paused |= reason

    def close(self) -> None:
        """Close this socket after what was written to it has been sent."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def reset_connection(self) -> None:
        self.conn.reset()

    def resume(self, reason: int) -> None:
        if self.paused & reason:
            self.paused &= ~reason
            transport = self.transport
            if not self.paused and transport is not None and not transport.is_closing():
                transport.resume_reading()


class Connection:
    __slots__ = ("client", "closed", "dial_task", "links", "proxy", "upstream")

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.client = Side(self)
        self.upstream = Side(self)
        self.links: dict[str, Link] = {}
        self.dial_task: asyncio.Task[None] | None = None
        self.closed = False

    def side_made(self, side: Side) -> None:
        if side is self.client:
            loop = asyncio.get_running_loop()
            # Read nothing more from the client until the upstream is connected.
            # uvloop ignores pause_reading() inside connection_made, hence call_soon
            # (and the `early` buffer for what arrives before it runs).
            loop.call_soon(side.pause, PAUSE_DIAL)
            self.dial_task = loop.create_task(self._dial())

    async def _dial(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            host, port = split_address(self.proxy.upstream)
            await loop.create_connection(lambda: self.upstream, host, port)
        except (OSError, ValueError):
            self.dial_task = None
            self.abort()
            return
        self.dial_task = None
        client, upstream = self.client, self.upstream
        if self.closed or client.closed or client.transport is None:
            self.abort()
            return
        assert upstream.transport is not None
        up = Link("upstream", client, upstream, upstream.transport,
                  self.proxy.toxics_for("upstream"))
        down = Link("downstream", upstream, client, client.transport,
                    self.proxy.toxics_for("downstream"))
        self.links = {"upstream": up, "downstream": down}
        client.out = upstream.into = up
        upstream.out = client.into = down
        for data in client.early:
            up.ingress(data)
        client.early.clear()
        if client.early_eof:
            up.ingress_eof()
        client.resume(PAUSE_DIAL)

    def side_lost(self, side: Side) -> None:
        if side.out is not None:
            side.out.ingress_eof()
        if side.into is not None:
            side.into.dest_closed = True
        if side is self.client and self.dial_task is not None:
            self.dial_task.cancel()
        if self.client.closed and (self.upstream.closed or self.upstream.transport is None):
            self._done()

    def abort(self) -> None:
        """Close both sockets now, dropping buffered data."""
        if self.dial_task is not None:
            self.dial_task.cancel()
        for side in (self.client, self.upstream):
            if side.transport is not None:
                side.transport.abort()
        self._done()

    def reset(self) -> None:
        """Close both sockets with a TCP RST (SO_LINGER 0)."""
        for side in (self.client, self.upstream):
            sock = side.transport.get_extra_info("socket") if side.transport else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        self.abort()

    def _done(self) -> None:
        if self.closed:
            return
        self.closed = True
        for link in self.links.values():
            link.shutdown()
        self.proxy.connections.discard(self)
