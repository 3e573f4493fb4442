"""Two small services shaped unlike the sample backend, for the adapter tests and targets/adapters/.

The store and its faults are the test shop's (tests/shop/app.py: --mode nocache | ttl | lossy);
only the API differs:

  --api items   GET /api/items/<id> -> {"data": {"id": "<id>", "attributes": {"price", "name"}}}, no
                version anywhere; PUT /api/items/<id> {"data": {"attributes": {"price"}}} -> 204.
                Reads say which layer served them in X-Served-By: memory | origin.
  --api things  GET /v2/things/<id> -> {"thing": {"price"}} with ETag: "<revision>";
                PATCH /v2/things/<id> {"price"} -> 200 {"thing": {...}} with the new ETag.

    python tests/adapters/app.py --port 8080 --api items --mode ttl --ttl 3
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.shop.app import Shop  # the repository root is on sys.path from the line above

ROUTES = {"items": re.compile(r"^/api/items/(\d+)$"), "things": re.compile(r"^/v2/things/(\d+)$")}
SERVED_BY = {"l1": "memory", "miss": "origin"}


def handler_for(shop: Shop, api: str) -> type[BaseHTTPRequestHandler]:
    route = ROUTES[api]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, doc: Any = None, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(doc).encode() if doc is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _key(self) -> int | None:
            match = route.match(self.path)
            return int(match.group(1)) if match else None

        def _body(self) -> Any:
            return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")

        def do_GET(self) -> None:
            if self.path == "/health":
                return self._send(200, {"ok": True})
            if self.path == "/_shop/stats":
                return self._send(200, shop.stats())
            key = self._key()
            row, served = shop.read(key) if key is not None else (None, None)
            if row is None:
                return self._send(404, {"errors": [{"title": "not found"}]})
            if api == "items":
                doc = {"data": {"id": str(key), "type": "item",
                                "attributes": {"price": row["price"], "name": f"Item {key}"}}}
                return self._send(200, doc, {"X-Served-By": SERVED_BY[served]} if served else None)
            return self._send(200, {"thing": {"price": row["price"]}}, {"ETag": f'"{row["version"]}"'})

        def _write(self, method: str) -> None:
            key = self._key()
            expected = {"items": "PUT", "things": "PATCH"}[api]
            if key is None or method != expected:
                return self._send(404 if key is None else 405, {"errors": [{"title": "no such route"}]})
            try:
                doc = self._body()
                price = float(doc["data"]["attributes"]["price"] if api == "items" else doc["price"])
            except (ValueError, KeyError, TypeError):
                return self._send(400, {"errors": [{"title": "bad body"}]})
            row = shop.write(key, price)
            if row is None:
                return self._send(404, {"errors": [{"title": "not found"}]})
            if api == "items":
                return self._send(204)
            return self._send(200, {"thing": {"price": row["price"]}}, {"ETag": f'"{row["version"]}"'})

        def do_PUT(self) -> None:
            self._write("PUT")

        def do_PATCH(self) -> None:
            self._write("PATCH")

    return Handler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--api", choices=sorted(ROUTES), default="items")
    ap.add_argument("--mode", choices=["nocache", "ttl", "lossy"], default="nocache")
    ap.add_argument("--ttl", type=float, default=3.0)
    ap.add_argument("--products", type=int, default=200)
    ap.add_argument("--drop-every", type=int, default=5)
    args = ap.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), handler_for(Shop(args.products, args.mode, args.ttl, args.drop_every), args.api))
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
