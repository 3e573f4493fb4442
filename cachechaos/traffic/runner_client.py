"""The experiment runner's own recorded requests (a bulk discount fired as a fault, final reads).

They land in history/runner.hist through the same `Recorder` the Locust users
use, so the checks see them like any client's. httpx, not Locust: the runner
process must not be monkey-patched by gevent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cachechaos.history.clock import now
from cachechaos.history.format import UNKNOWN_VERSION, Op
from cachechaos.history.writer import HistoryWriter
from cachechaos.store.rundir import HISTORY_DIR
from cachechaos.traffic.recorder import Recorder, layer_of

RUNNER_PROCESS = "runner"


@dataclass(frozen=True)
class Outcome:
    """What one recorded request saw."""

    status: int  # 0 = no response (connection error, timeout)
    version: int  # as recorded; for a discount: the number of products it rewrote
    layer: int
    invoke: float
    complete: float
    body: bytes
    error: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def record_request(recorder: Recorder, http: httpx.Client, op: Op, method: str, url: str, key: int,
                   json: Any = None, client: int = 0, version: int | None = None) -> Outcome:
    """Send one request and record it; never raises for HTTP or transport failures (status 0)."""
    invoke = now()
    try:
        resp = http.request(method, url, json=json)
    except httpx.HTTPError as exc:
        complete = now()
        recorder.record(op, key, invoke, complete, 0, None, None, client, version)
        return Outcome(0, UNKNOWN_VERSION if version is None else version, 0, invoke, complete, b"",
                       f"{type(exc).__name__}: {exc}")
    complete = now()
    x_cache = resp.headers.get("x-cache")
    body = resp.content
    seen = recorder.record(op, key, invoke, complete, resp.status_code, x_cache, body, client, version)
    return Outcome(resp.status_code, seen, layer_of(x_cache), invoke, complete, body)


class RunnerClient:
    """Recorded one-off requests of the experiment runner to the backends; thread-safe."""

    def __init__(self, run_dir: Path, backends: list[str], timeout_s: float = 2.0,
                 process: str = RUNNER_PROCESS, client: int = 0) -> None:
        if not backends:
            raise ValueError("RunnerClient needs at least one backend URL")
        self.backends = [b.rstrip("/") for b in backends]
        self.path = Path(run_dir) / HISTORY_DIR / f"{process}.hist"
        self.recorder = Recorder(HistoryWriter(self.path))
        self.client = client
        self._http = httpx.Client(timeout=timeout_s)
        self._lock = threading.Lock()
        self._closed = False

    def _url(self, backend: int | str | None, path: str) -> str:
        if backend is None:
            base = self.backends[0]
        elif isinstance(backend, int):
            base = self.backends[backend % len(self.backends)]
        else:
            base = backend.rstrip("/")
        return base + path

    def request(self, op: Op, method: str, path: str, key: int, json: Any = None,
                backend: int | str | None = None, version: int | None = None) -> Outcome:
        """Any request of the contract; `backend` is an index into backends or a base URL (default: the first)."""
        out = record_request(self.recorder, self._http, op, method, self._url(backend, path), key, json,
                             self.client, version)
        # One-off requests are rare and matter (a fault's edge): on disk at once, not within a second.
        self.recorder.flush()
        return out

    def read(self, product_id: int, backend: int | str | None = None, op: Op = Op.READ) -> Outcome:
        return self.request(op, "GET", f"/products/{product_id}", product_id, backend=backend)

    def write_price(self, product_id: int, price: float, backend: int | str | None = None) -> Outcome:
        return self.request(Op.WRITE, "PUT", f"/products/{product_id}", product_id, {"price": price}, backend)

    def discount(self, category: int, percent: float, backend: int | str | None = None) -> Outcome:
        """A bulk sale: one DISCOUNT record plus one DISCOUNT_WRITE per product it rewrote."""
        return self.request(Op.DISCOUNT, "POST", f"/categories/{category}/discount", category,
                            {"percent": percent}, backend)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._http.close()
        self.recorder.close()

    def __enter__(self) -> RunnerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
