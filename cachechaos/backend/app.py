"""The HTTP contract of the sample backend (docs/backend-contract.md)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cachechaos.backend.carts import CartUnavailable
from cachechaos.backend.config import BackendConfig
from cachechaos.backend.db import DatabaseUnavailable, NotFound, OutOfStock
from cachechaos.backend.service import Backend

log = logging.getLogger("cachechaos.backend.http")
Handler = Callable[[Request], Awaitable[Response]]
_JSON = "application/json"


class BadRequest(Exception):
    pass


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(doc, separators=(",", ":")).encode()
    return Response(body, status, headers, _JSON)


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)


async def _body(request: Request) -> dict[str, Any]:
    try:
        doc = json.loads(await request.body())
    except ValueError as exc:
        raise BadRequest("body is not JSON") from exc
    if not isinstance(doc, dict):
        raise BadRequest("body must be a JSON object")
    return doc


def _decimal(doc: dict[str, Any], field: str) -> Decimal:
    try:
        value = Decimal(str(doc[field]))
    except (KeyError, InvalidOperation) as exc:
        raise BadRequest(f"'{field}' must be a number") from exc
    if not value.is_finite():
        raise BadRequest(f"'{field}' must be finite")
    return value


def _uncached(request: Request) -> bool:
    """The contract's optional cache bypass: the final reads of a run ask for the source of truth."""
    return "no-cache" in request.headers.get("cache-control", "").lower()


def build_app(cfg: BackendConfig) -> Starlette:
    backend = Backend(cfg)
    products = backend.products
    carts = backend.carts
    metrics = backend.metrics
    hooks = backend.hooks

    def timed(route: str, fn: Handler) -> Handler:
        hist = metrics.http_duration.labels(route)
        errors = metrics.errors

        async def wrapper(request: Request) -> Response:
            t0 = time.perf_counter()
            try:
                return await fn(request)
            except BadRequest as exc:
                return _error(400, str(exc))
            except DatabaseUnavailable:
                return _error(503, "database unavailable")
            except CartUnavailable as exc:
                return _error(503, f"cart store unavailable: {exc}")
            except Exception:
                log.exception("unhandled error on %s", route)
                errors.labels("internal").inc()
                return _error(500, "internal error")
            finally:
                hist.observe(time.perf_counter() - t0)

        return wrapper

    async def get_product(request: Request) -> Response:
        pid = request.path_params["id"]
        entry, layer = await (products.get_uncached(pid) if _uncached(request) else products.get(pid))
        if entry.product is None:
            return Response(b'{"error":"not found"}', 404, {"X-Cache": layer}, _JSON)
        headers = {"X-Cache": layer}
        if entry.stale:
            headers["X-Cache-Stale"] = "1"
        return Response(entry.body, 200, headers, _JSON)

    async def put_product(request: Request) -> Response:
        price = _decimal(await _body(request), "price")
        if price < 0 or price >= Decimal("1e10"):
            raise BadRequest("'price' out of range")
        product = await products.write_price(request.path_params["id"], price)
        if product is None:
            return _error(404, "not found")
        return _json({k: product[k] for k in ("id", "price", "version")})

    async def discount(request: Request) -> Response:
        percent = _decimal(await _body(request), "percent")
        if not 0 <= percent < 100:
            raise BadRequest("'percent' must be in [0, 100)")
        updated = await products.discount(request.path_params["id"], percent)
        if updated is None:
            return _error(404, "category not found")
        return _json({"updated": [{"id": p["id"], "version": p["version"]} for p in updated]})

    async def create_order(request: Request) -> Response:
        doc = await _body(request)
        try:
            pid = int(doc["product_id"])
            qty = int(doc.get("qty", 1))
            user = int(doc["user_id"]) if doc.get("user_id") is not None else None
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRequest("'product_id' and 'qty' must be integers") from exc
        if qty <= 0:
            raise BadRequest("'qty' must be positive")
        try:
            res = await backend.db.place_order(pid, qty, user)
        except NotFound:
            return _error(404, "product not found")
        except OutOfStock:
            return _error(409, "out of stock")
        p = res["product"]
        await products.after_write([p], bulk=False)
        return _json(
            {
                "order_id": res["order_id"],
                "product_id": pid,
                "qty": qty,
                "user_id": user,
                "stock": p["stock"],
                "version": p["version"],
            },
            201,
        )

    async def get_cart(request: Request) -> Response:
        cart, layer = await carts.get(request.path_params["user"], uncached=_uncached(request))
        return _json(cart, headers={"X-Cache": layer})

    async def put_cart(request: Request) -> Response:
        items = (await _body(request)).get("items")
        if not isinstance(items, list):
            raise BadRequest("'items' must be a list")
        return _json(await carts.put(request.path_params["user"], items))

    async def health(request: Request) -> Response:
        l2 = backend.l2
        return _json(
            {
                "status": "ok",
                "instance": cfg.instance,
                "strategy": cfg.strategy,
                # As Sentinel (or redis_url) names it, and what this instance dials for it.
                "redis_primary": l2.primary if l2 else None,
                "redis_primary_dialled": l2.primary_dialled if l2 else None,
                "pubsub_primary_dialled": l2.pubsub_dialled if l2 else None,
                "cart_store": cfg.cart_store,
                "redis_available": l2.available if l2 else None,
                "warm": backend.warm,
            }
        )

    async def metrics_view(request: Request) -> Response:
        return Response(metrics.render(), 200, media_type=CONTENT_TYPE_LATEST)

    async def debug_pause(request: Request) -> Response:
        doc = await _body(request)
        hooks.arm(str(doc.get("point", "before_fill")), str(doc["key"]))
        return _json({"armed": True})

    async def debug_resume(request: Request) -> Response:
        doc = await _body(request)
        return _json({"released": hooks.release(str(doc.get("point", "before_fill")), str(doc["key"]))})

    async def debug_waiting(request: Request) -> Response:
        q = request.query_params
        return _json({"waiting": hooks.waiting(q.get("point", "before_fill"), q["key"])})

    routes = [
        Route("/products/{id:int}", timed("/products/{id}", get_product), methods=["GET"]),
        Route("/products/{id:int}", timed("/products/{id}:put", put_product), methods=["PUT"]),
        Route(
            "/categories/{id:int}/discount",
            timed("/categories/{id}/discount", discount),
            methods=["POST"],
        ),
        Route("/orders", timed("/orders", create_order), methods=["POST"]),
        Route("/carts/{user:int}", timed("/carts/{user}", get_cart), methods=["GET"]),
        Route("/carts/{user:int}", timed("/carts/{user}:put", put_cart), methods=["PUT"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics_view, methods=["GET"]),
    ]
    if cfg.debug_hooks:
        routes += [
            Route("/_debug/pause", debug_pause, methods=["POST"]),
            Route("/_debug/resume", debug_resume, methods=["POST"]),
            Route("/_debug/waiting", debug_waiting, methods=["GET"]),
        ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await backend.start()
        try:
            yield
        finally:
            await backend.stop()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.backend = backend
    return app
