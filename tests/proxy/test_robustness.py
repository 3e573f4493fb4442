"""Many connections, and toxic churn under load: no hang, no lost byte."""

from __future__ import annotations

import asyncio
import random
import resource
import time

import httpx

from cachechaos.proxy.client import ToxiproxyClient


def raise_nofile(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


class EchoServer:
    def __init__(self) -> None:
        self.active = 0
        self.peak = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._echo, "127.0.0.1", 0, backlog=4096)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _echo(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.active -= 1
            writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def open_many(port: int, count: int) -> list[tuple[asyncio.StreamReader,
                                                          asyncio.StreamWriter]]:
    conns = []
    for start in range(0, count, 100):  # batches keep SYN bursts inside the accept backlog
        conns += await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port)
                                        for _ in range(min(100, count - start))))
    return conns


def test_thousand_concurrent_connections(toxi: ToxiproxyClient) -> None:
    raise_nofile(8192)

    async def scenario() -> None:
        echo = EchoServer()
        proxy = toxi.create_proxy("many", await echo.start())
        conns = await open_many(proxy.listen_port, 1000)

        async def exchange(i: int, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> None:
            message = b"%06d" % i * 50
            writer.write(message)
            assert await reader.readexactly(len(message)) == message

        await asyncio.wait_for(asyncio.gather(*(exchange(i, r, w)
                                                for i, (r, w) in enumerate(conns))), 30)
        assert echo.peak == 1000  # all 1000 were open through the proxy at the same time
        for _, writer in conns:
            writer.close()
        echo.close()

    asyncio.run(scenario())


NON_LOSSY_TOXICS = [
    {"type": "latency", "attributes": {"latency": 1, "jitter": 1}},
    {"type": "slicer", "attributes": {"average_size": 300, "size_variation": 100}},
    {"type": "bandwidth", "attributes": {"rate": 50_000}},
    {"type": "noop"},
    {"type": "slow_close", "attributes": {"delay": 5}},
]


def test_toxic_churn_under_load_loses_nothing(toxi: ToxiproxyClient, proxy_api: str) -> None:
    raise_nofile(4096)
    cycles = 1000

    async def scenario() -> tuple[int, float]:
        echo = EchoServer()
        proxy = toxi.create_proxy("churn", await echo.start())
        conns = await open_many(proxy.listen_port, 200)
        done = asyncio.Event()

        async def load(i: int, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> int:
            rng = random.Random(i)
            moved = 0
            while not done.is_set():
                message = rng.randbytes(rng.randint(1, 8192))
                writer.write(message)
                assert await reader.readexactly(len(message)) == message
                moved += len(message)
                # Paced so the load and the API caller share this process's CPU.
                await asyncio.sleep(0.01)
            return moved

        def churn() -> float:
            slowest = 0.0
            with httpx.Client(base_url=proxy_api, timeout=5, trust_env=False) as http:
                for i in range(cycles):
                    body = dict(NON_LOSSY_TOXICS[i % len(NON_LOSSY_TOXICS)], name="churn",
                                stream=("upstream", "downstream")[i % 2])
                    start = time.perf_counter()
                    assert http.post("/proxies/churn/toxics", json=body).status_code == 200
                    assert http.delete("/proxies/churn/toxics/churn").status_code == 204
                    slowest = max(slowest, time.perf_counter() - start)
            return slowest

        loads = [asyncio.create_task(load(i, r, w)) for i, (r, w) in enumerate(conns)]
        try:
            # The API user is a thread of its own, as an operator's client would be.
            slowest = await asyncio.wait_for(asyncio.to_thread(churn), 45)
        finally:
            done.set()
        moved = await asyncio.wait_for(asyncio.gather(*loads), 15)
        for _, writer in conns:
            writer.close()
        echo.close()
        return sum(moved), slowest

    moved, slowest = asyncio.run(scenario())
    assert moved > 1_000_000  # the load really ran during the churn
    assert slowest < 2.0  # the API never stalled behind the data path
