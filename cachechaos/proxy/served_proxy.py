"""A proxy our server runs: its listener, its open connections and its toxics."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from .addresses import join_address, split_address
from .connection import Connection, Side
from .errors import ApiError
from .toxic_spec import STREAMS, ToxicSpec


class ServedProxy:
    def __init__(self, name: str, listen: str, upstream: str) -> None:
        self.name = name
        self.listen = listen
        # What the user asked for (e.g. port 0), so /populate can tell "unchanged".
        self.requested_listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: dict[str, ToxicSpec] = {}
        self.connections: set[Connection] = set()
        self._server: asyncio.AbstractServer | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": self.toxics_json(),
        }

    def toxics_json(self) -> list[dict[str, Any]]:
        # Toxiproxy lists the upstream chain first, then the downstream chain.
        return [spec.to_json() for stream in STREAMS for spec in self.toxics_for(stream)]

    def toxics_for(self, stream: str) -> list[ToxicSpec]:
        return [spec for spec in self.toxics.values() if spec.stream == stream]

    # -- listener ----------------------------------------------------------

    async def start(self) -> None:
        """Listen on `listen`; raise ApiError(500) if the address cannot be bound."""
        if self._server is not None:
            self.enabled = True
            return
        try:
            sock = await _bind(self.listen)
        except (OSError, ValueError) as exc:
            raise ApiError(f"listen tcp {self.listen}: {exc}", 500) from exc
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, sock=sock, backlog=4096)
        host, port = sock.getsockname()[:2]
        self.listen = join_address(host, port)
        self.enabled = True

    def stop(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()
        self.enabled = False

    def _accept(self) -> Side:
        conn = Connection(self)
        self.connections.add(conn)
        return conn.client

    # -- toxics --------------------------------------------------------------

    def add_toxic(self, spec: ToxicSpec) -> None:
        self.toxics[spec.name] = spec
        for conn in self.connections:
            link = conn.links.get(spec.stream)
            if link is not None:
                link.add_toxic(spec)

    def update_toxic(self, spec: ToxicSpec) -> None:
        self.toxics[spec.name] = spec
        for conn in self.connections:
            link = conn.links.get(spec.stream)
            if link is not None:
                link.update_toxic(spec)

    def remove_toxic(self, name: str) -> None:
        spec = self.toxics.pop(name)
        for conn in list(self.connections):
            link = conn.links.get(spec.stream)
            if link is not None:
                link.remove_toxic(name)

    def remove_all_toxics(self) -> None:
        for name in list(self.toxics):
            self.remove_toxic(name)


async def _bind(listen: str) -> socket.socket:
    host, port = split_address(listen)
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    # One socket on the first address, so "localhost:0" means one port, as in Go.
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, type_, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
