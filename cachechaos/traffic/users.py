"""The simulated marketplace user (Locust `FastHttpUser`): browse, buy, write, and record everything.

Imports Locust, hence gevent's monkey-patching: only load processes import
this module (the worker and the locustfile), never the experiment runner.
"""

from __future__ import annotations

import itertools
import random
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from time import time
from typing import Any, ClassVar

from locust import FastHttpUser, constant, constant_throughput, task
from locust.contrib.fasthttp import LocustUserAgent

from cachechaos.history.format import Op
from cachechaos.traffic.config import ProcessConfig
from cachechaos.traffic.recorder import Recorder
from cachechaos.traffic.shapes import pacing_rate_per_user
from cachechaos.traffic.zipf import Zipf

# Locust stats names: one entry per route, not per id.
PRODUCT = "/products/[id]"
DISCOUNT = "/categories/[id]/discount"
ORDERS = "/orders"
CART = "/carts/[user]"

_JSON = {"Content-Type": "application/json"}
# Plain ints: struct.pack takes them faster than IntEnum members.
_READ, _WRITE, _DISCOUNT, _ORDER = int(Op.READ), int(Op.WRITE), int(Op.DISCOUNT), int(Op.ORDER)
_CART_READ, _CART_WRITE, _ABSENT_READ = int(Op.CART_READ), int(Op.CART_WRITE), int(Op.ABSENT_READ)
# Outcomes the contract expects, not errors: a lookup of an absent id, an order without stock.
_OK_CODES = LocustUserAgent.valid_response_codes
_OK_WITH_404 = _OK_CODES | {404}
_OK_WITH_409 = _OK_CODES | {409}


@dataclass
class Plan:
    """Everything a user needs, prepared once per process."""

    backends: list[str]
    recorder: Recorder
    zipf: Zipf
    products: int
    categories: int
    users: int
    hot_key: int
    hot_share: float
    discount_category: int | None
    discount_percent: float
    actions: list[str]  # action names with a positive weight ...
    cumulative: list[float]  # ... and their cumulative weights
    seed: int
    process_index: int
    processes: int

    @classmethod
    def from_config(cls, cfg: ProcessConfig, recorder: Recorder) -> Plan:
        spec = cfg.spec
        weights = [(name, w) for name, w in spec.mix.weights().items() if w > 0]
        cumulative = list(itertools.accumulate(w for _, w in weights))
        return cls(
            backends=[b.rstrip("/") for b in cfg.backends],
            recorder=recorder,
            zipf=Zipf(cfg.catalog.products, spec.zipf_s, seed=spec.seed),  # one permutation for every process
            products=cfg.catalog.products,
            categories=cfg.catalog.categories,
            users=cfg.catalog.users,
            hot_key=spec.hot_key,
            hot_share=spec.hot_share,
            discount_category=spec.discount.category,
            discount_percent=spec.discount.percent,
            actions=[name for name, _ in weights],
            cumulative=cumulative,
            seed=cfg.seed,
            process_index=cfg.index,
            processes=cfg.spec.processes,
        )


class ShopperUser(FastHttpUser):
    """One shopper; every request goes to a randomly picked backend instance and into the history."""

    abstract = True
    plan: ClassVar[Plan]
    _indexes: ClassVar[itertools.count[int]]

    def on_start(self) -> None:
        plan = self.plan
        # Per-process user index: the history's client field.
        self.index = next(self._indexes)
        self.rng = random.Random(f"{plan.seed}:{self.index}")
        # Global user number across processes, so carts of different processes do not collide.
        self.user_id = (self.index * plan.processes + plan.process_index) % plan.users + 1
        self.backends = plan.backends
        self.n_backends = len(plan.backends)
        self.record = plan.recorder.record
        self.agent = self.client.client
        self.total_weight = plan.cumulative[-1]
        self.dispatch: list[Callable[[], None]] = [getattr(self, name) for name in plan.actions]

    @task
    def step(self) -> None:
        i = bisect_right(self.plan.cumulative, self.rng.random() * self.total_weight)
        self.dispatch[min(i, len(self.dispatch) - 1)]()

    # -- the actions -------------------------------------------------------

    def browse(self) -> None:
        plan = self.plan
        pid = plan.hot_key if plan.hot_share and self.rng.random() < plan.hot_share else plan.zipf.sample(self.rng)
        self._send("GET", f"/products/{pid}", PRODUCT, _READ, pid)

    def hot(self) -> None:
        pid = self.plan.hot_key
        self._send("GET", f"/products/{pid}", PRODUCT, _READ, pid)

    def absent(self) -> None:
        pid = self.plan.products + 1 + self.rng.randrange(self.plan.products)
        self._send("GET", f"/products/{pid}", PRODUCT, _ABSENT_READ, pid, ok_codes=_OK_WITH_404)

    def write_price(self) -> None:
        pid = self.plan.zipf.sample(self.rng)
        price = round(self.rng.uniform(1, 1000), 2)
        self._send("PUT", f"/products/{pid}", PRODUCT, _WRITE, pid, f'{{"price":{price}}}')

    def discount(self) -> None:
        plan = self.plan
        category = plan.discount_category or self.rng.randint(1, plan.categories)
        self._send("POST", f"/categories/{category}/discount", DISCOUNT, _DISCOUNT, category,
                   f'{{"percent":{plan.discount_percent}}}')

    def checkout(self) -> None:
        pid = self.plan.zipf.sample(self.rng)
        qty = self.rng.randint(1, 2)
        body = f'{{"product_id":{pid},"qty":{qty},"user_id":{self.user_id}}}'
        self._send("POST", "/orders", ORDERS, _ORDER, pid, body, version=qty, ok_codes=_OK_WITH_409)

    def cart_read(self) -> None:
        self._send("GET", f"/carts/{self.user_id}", CART, _CART_READ, self.user_id)

    def cart_write(self) -> None:
        items = ",".join(
            f'{{"product_id":{self.plan.zipf.sample(self.rng)},"qty":{self.rng.randint(1, 3)}}}'
            for _ in range(self.rng.randint(1, 3))
        )
        self._send("PUT", f"/carts/{self.user_id}", CART, _CART_WRITE, self.user_id, f'{{"items":[{items}]}}')

    # -- one request -------------------------------------------------------

    def _send(self, method: str, path: str, name: str, op: int, key: int, payload: str | None = None,
              version: int | None = None, ok_codes: frozenset[int] = _OK_CODES) -> None:
        # A new instance per request: a user may read from one instance right after another served it.
        base = self.backends[int(self.rng.random() * self.n_backends)] if self.n_backends > 1 else self.backends[0]
        if ok_codes is not _OK_CODES:
            self.agent.valid_response_codes = ok_codes  # type: ignore[misc]
        invoke = time()
        if payload is None:
            resp = self.client.request(method, base + path, name=name)
        else:
            resp = self.client.request(method, base + path, name=name, data=payload, headers=_JSON)
        complete = time()
        if ok_codes is not _OK_CODES:
            self.agent.valid_response_codes = _OK_CODES  # type: ignore[misc]
        status = resp.status_code
        headers = resp.headers
        x_cache = headers.get("x-cache") if headers is not None else None
        ok = 200 <= status < 300
        self.record(op, key, invoke, complete, status, x_cache if isinstance(x_cache, str) else None,
                    resp.content if ok else None, self.index, version)


def make_user_class(cfg: ProcessConfig, recorder: Recorder) -> type[ShopperUser]:
    """A concrete ShopperUser for this process: host, timeouts and pacing come from the config."""
    spec = cfg.spec
    rate = pacing_rate_per_user(spec)
    attrs: dict[str, Any] = {
        "abstract": False,
        "host": cfg.backends[0],
        "plan": Plan.from_config(cfg, recorder),
        "_indexes": itertools.count(),
        "network_timeout": spec.request_timeout_s,
        "connection_timeout": spec.request_timeout_s,
        "wait_time": constant_throughput(rate) if rate else constant(0),
        "__module__": __name__,
    }
    return type("Shopper", (ShopperUser,), attrs)
