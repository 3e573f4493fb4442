"""A small HTTP/1.1 server (h11 over asyncio streams) that hands requests to the Api.

h11 does the parsing, so malformed requests become a 4xx answer rather than
an exception; bodies are capped and idle connections time out, so no client
can hold the API.
"""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus

import h11

from .api import Api, RawBody

log = logging.getLogger("cachechaos.proxy")

MAX_BODY = 1 << 20
READ_TIMEOUT = 30.0


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json_bytes(status: int, message: str) -> bytes:
    return json.dumps({"error": message, "status": status}).encode()


def _raw_error(status: int, message: str) -> bytes:
    """A complete response for when h11's state no longer allows one."""
    body = _json_bytes(status, message)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


async def serve_http(api: Api, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
    try:
        while True:
            request = await _read_request(conn, reader, writer)
            if request is None:
                return
            event, body = request
            user_agent = dict(event.headers).get(b"user-agent", b"")
            if user_agent.startswith(b"Mozilla/"):
                # As Toxiproxy: a browser page must not be able to drive the API (CSRF).
                status, payload = 403, {"error": "User agent not allowed", "status": 403}
            else:
                status, payload = await api.handle(
                    event.method.decode("ascii", "replace"),
                    event.target.decode("utf-8", "replace"),
                    body,
                )
            data, content_type = _body(payload)
            headers = [("Content-Length", str(len(data)))]
            if content_type:
                headers.append(("Content-Type", content_type))
            if isinstance(payload, RawBody):
                headers += payload.headers
            writer.write(conn.send(h11.Response(
                status_code=status, headers=headers, reason=HTTPStatus(status).phrase)))
            if data:
                writer.write(conn.send(h11.Data(data=data)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()
    except h11.RemoteProtocolError as exc:
        status = exc.error_status_hint if 400 <= exc.error_status_hint < 500 else 400
        await _send_raw(writer, _raw_error(status, f"bad request: {exc}"))
    except _Refused as exc:
        await _send_raw(writer, _raw_error(exc.status, exc.message))
    except (TimeoutError, ConnectionError):
        pass
    except Exception:
        log.exception("internal error answering an API request")
        await _send_raw(writer, _raw_error(500, "internal error, see the server log"))
    finally:
        writer.close()


def _body(payload: object) -> tuple[bytes, str | None]:
    """The bytes and content type of an answer: JSON unless the Api chose the bytes."""
    if payload is None:
        return b"", None
    if isinstance(payload, RawBody):
        return payload.data, payload.content_type
    return json.dumps(payload).encode(), "application/json"


async def _send_raw(writer: asyncio.StreamWriter, data: bytes) -> None:
    try:
        writer.write(data)
        await asyncio.wait_for(writer.drain(), 5.0)
    except (TimeoutError, ConnectionError):
        pass


async def _read_request(
    conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[h11.Request, bytes] | None:
    request: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            if conn.they_are_waiting_for_100_continue:
                writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
            data = await asyncio.wait_for(reader.read(65536), READ_TIMEOUT)
            conn.receive_data(data)
        elif isinstance(event, h11.Request):
            request = event
            length = dict(event.headers).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > MAX_BODY:
                raise _Refused(413, f"request body larger than {MAX_BODY} bytes")
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise _Refused(413, f"request body larger than {MAX_BODY} bytes")
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            return request, bytes(body)
        else:
            return None
