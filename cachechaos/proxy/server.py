"""Run the Toxiproxy-compatible server: in a coroutine, in a background thread, or as main."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
from collections.abc import Callable
from types import TracebackType

from .addresses import join_address, split_address
from .api import Api, populate_configs
from .collection import PopulateError, ProxyCollection
from .compat import dialect
from .errors import ApiError
from .httpd import serve_http

log = logging.getLogger("cachechaos.proxy")

DEFAULT_API_LISTEN = "127.0.0.1:8474"


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed (much faster copy loop), else asyncio's."""
    return _loop_factory()()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


class ProxyServer:
    """The API server and every proxy it runs.

    `await start_async()` / `await stop_async()` inside a running loop, or
    `start()` / `stop()` (also a context manager) to run it in a thread of
    its own, e.g. in tests. `compat` names an older API to answer as
    (compat.DIALECTS, e.g. "2.1"); None is the current API.
    """

    def __init__(self, listen: str = DEFAULT_API_LISTEN, compat: str | None = None) -> None:
        split_address(listen)
        self.listen = listen
        self.compat = dialect(compat)
        self.address: str | None = None
        self.collection = ProxyCollection()
        self._api = Api(self.collection, self.compat)
        self._http: asyncio.AbstractServer | None = None
        self._api_writers: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self.address is None:
            raise RuntimeError("the proxy server is not started")
        return f"http://{self.address}"

    async def start_async(self) -> None:
        """Start listening for API requests; raise OSError if the address is taken."""
        host, port = split_address(self.listen)
        self._http = await asyncio.start_server(self._serve, host, port, reuse_address=True)
        sockname = self._http.sockets[0].getsockname()
        self.address = join_address(sockname[0], sockname[1])

    async def stop_async(self) -> None:
        """Close the API listener, API connections, every proxy and its connections."""
        if self._http is not None:
            self._http.close()
            self._http = None
        for writer in list(self._api_writers):
            writer.close()
        await self.collection.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._api_writers.add(writer)
        try:
            await serve_http(self._api, reader, writer)
        finally:
            self._api_writers.discard(writer)

    # -- in a background thread ----------------------------------------------

    def start(self, timeout: float = 10.0) -> ProxyServer:
        """Run the server on its own event loop in a daemon thread; return once it listens."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop_async())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="cachechaos-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError(f"proxy server did not start within {timeout} s")
        if failure:
            raise failure[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None

    def __enter__(self) -> ProxyServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


async def serve_until_signalled(listen: str, compat: str | None = None, config: str | None = None) -> int:
    """Serve until SIGTERM or SIGINT, then close everything; the process exit code.

    `config` names a JSON list of proxies to create at start, as Toxiproxy's `-config` file does."""
    server = ProxyServer(listen, compat)
    try:
        await server.start_async()
    except OSError as exc:
        log.error("cannot listen on %s: %s (pick a free address with --listen)", listen, exc)
        return 1
    if config is not None:
        try:
            with open(config, encoding="utf-8") as file:
                proxies = await server.collection.populate(populate_configs(json.load(file)))
        except (OSError, ValueError, ApiError, PopulateError) as exc:
            log.error("cannot create the proxies of %s: %s", config, getattr(exc, "message", exc))
            await server.stop_async()
            return 1
        log.info("%d proxies created from %s", len(proxies), config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    mode = f" as Toxiproxy {server.compat.version} (compat {server.compat.name})" if server.compat else ""
    log.info("cachechaos proxy API listening on http://%s%s", server.address, mode)
    await stop.wait()
    await server.stop_async()
    log.info("cachechaos proxy stopped")
    return 0


def run_server(listen: str = DEFAULT_API_LISTEN, compat: str | None = None, config: str | None = None) -> int:
    """Blocking entry point used by `python -m cachechaos.proxy` and `cachechaos proxy serve`."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(serve_until_signalled(listen, compat, config))
