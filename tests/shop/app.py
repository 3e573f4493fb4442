"""A small shop written apart from cachechaos: the kind of service a user attaches the toolkit to.

It knows nothing of the toolkit (it imports only the standard library) and honours the product
part of the backend contract in docs/backend-contract.md: GET /products/{id} -> {"id", "price", "version"} or
404, PUT /products/{id} {"price"} -> the committed version, GET /health. No /metrics, no
PostgreSQL. Its faults are chosen by --mode:

  nocache   every read answers from the store.
  ttl       reads are cached for --ttl seconds and writes do not invalidate; `Cache-Control:
            no-cache` is ignored, as many services do.
  lossy     every --drop-every-th write is acknowledged with the next version but not applied.
  skipping  versions grow by two (breaks the contract, for the probe).

--metrics chooses what GET /metrics answers: none (404, the default), prometheus (a valid
text), html (200 with an HTML page), partial (valid lines, then garbage), slow (valid, after 2 s),
counting (the shop's own counters under its own names: reads of its store, cache lookups by result).

GET /_shop/stats tells what the shop itself did (writes applied and dropped), so a test can
compare the toolkit's findings with the truth.

    python tests/shop/app.py --port 8080 --mode ttl --ttl 3 --products 200
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PRODUCT = re.compile(r"^/products/(\d+)$")
PROMETHEUS = "# TYPE shop_requests_total counter\nshop_requests_total 7\nshop_up 1\n"
METRICS_BODIES = {
    "prometheus": (PROMETHEUS, "text/plain; version=0.0.4"),
    "slow": (PROMETHEUS, "text/plain; version=0.0.4"),
    "html": ("<html><body><h1>Shop</h1><p>Welcome!</p></body></html>", "text/html"),
    "partial": (PROMETHEUS + "<html>oops</html>\nshop_late 3\n", "text/plain"),
}


class Shop:
    def __init__(self, products: int, mode: str, ttl: float, drop_every: int, metrics: str = "none") -> None:
        self.mode = mode
        self.metrics = metrics
        self.ttl = ttl
        self.drop_every = drop_every
        self.lock = threading.Lock()
        self.rows = {i: {"id": i, "price": 10.0 + i % 90, "version": 1} for i in range(1, products + 1)}
        self.cache: dict[int, tuple[float, dict[str, Any]]] = {}
        self.writes = self.applied = self.dropped = 0
        self.store_reads = self.cache_hits = self.cache_misses = 0
        # Dropped writes of each key since its last applied one: what a final read can still tell was lost.
        self.unapplied: dict[int, int] = {}

    def read(self, pid: int) -> tuple[dict[str, Any] | None, str | None]:
        """The product and, for the caching mode, whether the cache served it."""
        now = time.monotonic()
        with self.lock:
            if self.mode == "ttl":
                hit = self.cache.get(pid)
                if hit is not None and hit[0] > now:
                    self.cache_hits += 1
                    return hit[1], "l1"
                self.cache_misses += 1
            self.store_reads += 1
            row = self.rows.get(pid)
            if row is None:
                return None, None
            row = dict(row)
            if self.mode == "ttl":
                self.cache[pid] = (now + self.ttl, row)
                return row, "miss"
            return row, None

    def stats(self) -> dict[str, int]:
        with self.lock:
            return {"writes": self.writes, "applied": self.applied, "dropped": self.dropped,
                    "dropped_at_end": sum(self.unapplied.values()), "store_reads": self.store_reads,
                    "cache_hits": self.cache_hits, "cache_misses": self.cache_misses}

    def counters(self) -> str:
        """Prometheus text of the shop's own counters, named its own way (not the toolkit's)."""
        with self.lock:
            return ("# TYPE shop_store_reads_total counter\n"
                    f'shop_store_reads_total{{table="products"}} {self.store_reads}\n'
                    "# TYPE shop_cache_lookups_total counter\n"
                    f'shop_cache_lookups_total{{tier="local",result="hit"}} {self.cache_hits}\n'
                    f'shop_cache_lookups_total{{tier="local",result="miss"}} {self.cache_misses}\n')

    def write(self, pid: int, price: float) -> dict[str, Any] | None:
        with self.lock:
            row = self.rows.get(pid)
            if row is None:
                return None
            self.writes += 1
            step = 2 if self.mode == "skipping" else 1
            new = {"id": pid, "price": price, "version": row["version"] + step}
            if self.mode == "lossy" and self.writes % self.drop_every == 0:
                self.dropped += 1  # acknowledged below, never stored
                self.unapplied[pid] = self.unapplied.get(pid, 0) + 1
            else:
                self.rows[pid] = new
                self.applied += 1
                self.unapplied[pid] = 0
            return new


def handler_for(shop: Shop) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: load generators reuse connections

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, doc: Any, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> None:
            body = doc.encode() if isinstance(doc, str) else json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/health":
                return self._send(200, {"status": "ok", "mode": shop.mode})
            if self.path == "/_shop/stats":
                return self._send(200, shop.stats())
            if self.path == "/metrics" and shop.metrics == "counting":
                return self._send(200, shop.counters(), content_type="text/plain; version=0.0.4")
            if self.path == "/metrics" and shop.metrics in METRICS_BODIES:
                if shop.metrics == "slow":
                    time.sleep(2.0)
                body, content_type = METRICS_BODIES[shop.metrics]
                return self._send(200, body, content_type=content_type)
            match = PRODUCT.match(self.path)
            if not match:
                return self._send(404, {"error": "no such page"})
            row, served = shop.read(int(match.group(1)))
            if row is None:
                return self._send(404, {"error": "no such product"})
            return self._send(200, row, {"X-Cache": served} if served else None)

        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            match = PRODUCT.match(self.path)
            if not match:
                return self._send(404, {"error": "no such page"})
            try:
                price = float(json.loads(raw)["price"])
            except (ValueError, KeyError, TypeError):
                return self._send(400, {"error": "body must be {\"price\": number}"})
            row = shop.write(int(match.group(1)), price)
            if row is None:
                return self._send(404, {"error": "no such product"})
            return self._send(200, row)

    return Handler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=["nocache", "ttl", "lossy", "skipping"], default="nocache")
    ap.add_argument("--ttl", type=float, default=3.0, help="cache TTL of the ttl mode, seconds")
    ap.add_argument("--products", type=int, default=200)
    ap.add_argument("--drop-every", type=int, default=5, help="lossy mode: drop every n-th write")
    ap.add_argument("--metrics", choices=["none", "counting", *METRICS_BODIES], default="none", help="what GET /metrics answers")
    args = ap.parse_args()
    shop = Shop(args.products, args.mode, args.ttl, args.drop_every, args.metrics)
    server = ThreadingHTTPServer((args.host, args.port), handler_for(shop))
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
