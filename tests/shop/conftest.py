"""The test shop (tests/shop/app.py) as a real HTTP server on a free port, and topology files for it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from cachechaos.runtime.ports import free_port
from cachechaos.runtime.process import ManagedProcess, wait_until

SHOP = Path(__file__).resolve().parent / "app.py"
PRODUCTS = 200


class RunningShop:
    def __init__(self, url: str, process: ManagedProcess) -> None:
        self.url = url
        self.process = process

    def stats(self) -> dict[str, Any]:
        doc: dict[str, Any] = httpx.get(f"{self.url}/_shop/stats", timeout=5).json()
        return doc


@pytest.fixture
def shop_factory(tmp_path: Path) -> Iterator[Callable[..., RunningShop]]:
    started: list[ManagedProcess] = []

    def start(mode: str = "nocache", *extra: str, script: Path = SHOP) -> RunningShop:
        port = free_port()
        argv = [sys.executable, str(script), "--port", str(port), "--mode", mode, "--products", str(PRODUCTS), *extra]
        process = ManagedProcess(f"shop-{mode}", argv, tmp_path / f"shop-{mode}-{port}.log")
        started.append(process)
        process.start()
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, 15, f"the test shop ({mode})", alive=process)
        return RunningShop(url, process)

    yield start
    for process in started:
        process.stop()


def shop_topology(path: Path, url: str, **extra: Any) -> Path:
    """An external topology naming only the shop: no Redis, no PostgreSQL, no Toxiproxy."""
    path.write_text(yaml.safe_dump({"kind": "external", "name": "test-shop", "backends": [url],
                                    "catalog": {"products": PRODUCTS}, **extra}))
    return path


def probe_json(stdout: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(stdout)
    return doc
