"""The simulated marketplace shoppers (Locust `FastHttpUser`s): browse, buy, write, and record everything.

Two user classes over one `Shop` (the actions and the recorded request):

- `ShopperUser`, the closed model (steady / ramp / spike of users): each user
  sends its next request when the previous one is answered.
- `ArrivalUser`, the open model (`arrival*` shapes): one user per process runs
  that process's arrival schedule (`arrivals.py`), wakes at each arrival on a
  timerfd (`timer.py`: no busy wait) and hands it to a pool of sender greenlets
  (`senders.py`), whatever is still in flight; an arrival that finds
  `max_in_flight` requests busy is recorded as dropped, never delayed.

Each request is stamped right around the socket work (`history.clock.now`),
the response time is measured from the arrival's intended send time, and the
request is reported to Locust's own event hook so its statistics and listeners
see every request.

Imports Locust, hence gevent's monkey-patching: only load processes import
this module (the worker and the locustfile), never the experiment runner.
"""

from __future__ import annotations

import itertools
import random
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import gevent
from geventhttpclient.header import Headers
from geventhttpclient.response import HTTPSocketPoolResponse
from geventhttpclient.url import URL
from locust import FastHttpUser, constant, task
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, LocustBadStatusCode, LocustUserAgent
from locust.event import EventHook
from locust.user.users import LOCUST_STATE_STOPPING

from cachechaos.history.clock import now
from cachechaos.history.format import Op
from cachechaos.traffic.arrivals import arrival_offsets, open_shape, schedule_rng
from cachechaos.traffic.config import ProcessConfig
from cachechaos.traffic.rate_steps import StepsFile, live_offsets
from cachechaos.traffic.recorder import Recorder
from cachechaos.traffic.request_target import request_target
from cachechaos.traffic.senders import SenderPool
from cachechaos.traffic.spec import OpenShape
from cachechaos.traffic.timer import PreciseSleeper
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
# Answers the contract expects (a lookup of an absent id, an order without stock) are not failures in
# Locust's live statistics; the history keeps every status and the checks judge it.
_VALID_CODES = LocustUserAgent.valid_response_codes | {404, 409}
# Closed-model users start within this many seconds of their spawn, so they never move in lockstep.
START_SPREAD_S = 0.1

Action = Callable[[int, float | None], None]


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
    clients: int  # simulated shoppers of this process (client ids 0..clients-1)
    start_at: float
    duration_s: float
    request_timeout_s: float
    shape: OpenShape | None  # None: closed model
    rates_path: Path | None  # the live rate changes of a game day (traffic.rate_steps)
    # Builds each user's Shop: an adapter's (cachechaos.adapters) when the topology declares one.
    shop_factory: Callable[[Plan, LocustUserAgent, EventHook, random.Random], Shop] | None = None

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
            processes=spec.processes,
            clients=max(1, -(-spec.users // spec.processes)),
            start_at=cfg.start_at,
            duration_s=cfg.duration_s,
            request_timeout_s=spec.request_timeout_s,
            shape=open_shape(spec),
            rates_path=cfg.rates_path,
        )

    def schedule(self, wait: Callable[[float], None]) -> Iterator[float]:
        """This process's arrival offsets: the spec's schedule, or with the rate changes written while it runs."""
        assert self.shape is not None
        if self.rates_path is None:
            return arrival_offsets(self.shape, self.processes, self.duration_s, schedule_rng(self.seed))
        start_at = self.start_at
        steps = StepsFile(self.rates_path, now)
        return live_offsets(self.shape, self.processes, self.duration_s, self.seed, steps.current,
                            lambda: now() - start_at, wait)

    def user_id(self, client: int) -> int:
        """The shopper's global user number across processes, so carts of different processes never collide."""
        return (client * self.processes + self.process_index) % self.users + 1


@dataclass(slots=True)  # one per request: slots and no frozen __setattr__ keep it cheap on the request path
class Exchange:
    """One request's answer (or failure) and the times around its socket work."""

    url: str
    response: HTTPSocketPoolResponse | None  # None when the exchange failed (status 0)
    status: int
    body: bytes | None
    error: Exception | None
    invoke: float
    complete: float
    due: float  # the intended send time, or `invoke` in closed mode

    @property
    def headers(self) -> Headers | None:
        return self.response.info() if self.response is not None else None


class Shop:
    """The actions of a shopper and the one recorded request they all go through."""

    def __init__(self, plan: Plan, agent: LocustUserAgent, request_event: EventHook, rng: random.Random) -> None:
        self.plan = plan
        self.fire = request_event.fire
        self.rng = rng
        self.record = plan.recorder.record
        self.backends = plan.backends
        # Each backend's keep-alive client from the agent's own pool (its timeouts, concurrency and TLS
        # settings), and the backend URL's path to put before every request path.
        self.http = [(agent.clientpool.get_client(URL(b)), urlsplit(b).path.rstrip("/")) for b in plan.backends]
        self.total_weight = plan.cumulative[-1]
        self.dispatch: list[Action] = [getattr(self, name) for name in plan.actions]

    def pick(self) -> Action:
        i = bisect_right(self.plan.cumulative, self.rng.random() * self.total_weight)
        return self.dispatch[min(i, len(self.dispatch) - 1)]

    # -- the actions: (client id, intended send time or None = now) ------------------------------

    def browse(self, client: int, intended: float | None) -> None:
        plan = self.plan
        pid = plan.hot_key if plan.hot_share and self.rng.random() < plan.hot_share else plan.zipf.sample(self.rng)
        self._send("GET", f"/products/{pid}", PRODUCT, _READ, pid, client, intended)

    def hot(self, client: int, intended: float | None) -> None:
        pid = self.plan.hot_key
        self._send("GET", f"/products/{pid}", PRODUCT, _READ, pid, client, intended)

    def absent(self, client: int, intended: float | None) -> None:
        pid = self.plan.products + 1 + self.rng.randrange(self.plan.products)
        self._send("GET", f"/products/{pid}", PRODUCT, _ABSENT_READ, pid, client, intended)

    def write_price(self, client: int, intended: float | None) -> None:
        pid = self.plan.zipf.sample(self.rng)
        price = round(self.rng.uniform(1, 1000), 2)
        self._send("PUT", f"/products/{pid}", PRODUCT, _WRITE, pid, client, intended, f'{{"price":{price}}}')

    def discount(self, client: int, intended: float | None) -> None:
        plan = self.plan
        category = plan.discount_category or self.rng.randint(1, plan.categories)
        self._send("POST", f"/categories/{category}/discount", DISCOUNT, _DISCOUNT, category, client, intended,
                   f'{{"percent":{plan.discount_percent}}}')

    def checkout(self, client: int, intended: float | None) -> None:
        pid = self.plan.zipf.sample(self.rng)
        qty = self.rng.randint(1, 2)
        body = f'{{"product_id":{pid},"qty":{qty},"user_id":{self.plan.user_id(client)}}}'
        self._send("POST", "/orders", ORDERS, _ORDER, pid, client, intended, body, version=qty)

    def cart_read(self, client: int, intended: float | None) -> None:
        user = self.plan.user_id(client)
        self._send("GET", f"/carts/{user}", CART, _CART_READ, user, client, intended)

    def cart_write(self, client: int, intended: float | None) -> None:
        user = self.plan.user_id(client)
        items = ",".join(
            f'{{"product_id":{self.plan.zipf.sample(self.rng)},"qty":{self.rng.randint(1, 3)}}}'
            for _ in range(self.rng.randint(1, 3))
        )
        self._send("PUT", f"/carts/{user}", CART, _CART_WRITE, user, client, intended, f'{{"items":[{items}]}}')

    # -- one request -------------------------------------------------------

    def _send(self, method: str, path: str, name: str, op: int, key: int, client: int, intended: float | None,
              payload: str | None = None, version: int | None = None) -> None:
        ex = self._exchange(method, path, payload, _JSON if payload is not None else None, intended)
        status, resp = ex.status, ex.response
        x_cache = resp.get("x-cache") if resp is not None else None
        self.record(op, key, ex.invoke, ex.complete, status, x_cache if isinstance(x_cache, str) else None,
                    ex.body if 200 <= status < 300 else None, client, version, ex.due)
        self.fire_request(ex, method, name)

    def _exchange(self, method: str, path: str, payload: str | None, headers: dict[str, str] | None,
                  intended: float | None) -> Exchange:
        """One request to a backend, timed; failures are answers too (status 0 without a response).

        Sent with the backend's HTTPClient, not the agent's `urlopen`: the user agent's layer (URL
        parsing, header merging, retries and redirects, a response wrapper) cost about a quarter of a
        load process's CPU per request at 300 req/s (docs/load-generator.md), and FastHttpUser turns off its
        retries anyway. What it did that counts is done here: a status outside the valid codes is an
        error (Locust's LocustBadStatusCode), with its response; redirects are recorded, not followed.
        """
        # A new instance per request: a user may read from one instance right after another served it.
        http = self.http
        i = int(self.rng.random() * len(http)) if len(http) > 1 else 0
        client, prefix = http[i]
        uri = request_target(prefix, path)
        error: Exception | None = None
        resp: HTTPSocketPoolResponse | None = None
        body: bytes | None = None
        # The timed window holds only the socket work: the statistics event comes after `complete`.
        invoke = now()
        try:
            resp = client.request(method, uri, body=payload, headers=headers)
            body = resp.read()
        except FAILURE_EXCEPTIONS as exc:  # a timeout, a refused or broken connection, a malformed answer
            # Also when the head came and the body did not: no answer (status 0), as before.
            error, resp, body = exc, None, None
        complete = now()
        url = self.backends[i] + path
        status = int(resp.status_code) if resp is not None else 0
        if resp is not None and status not in _VALID_CODES:
            error = LocustBadStatusCode(url, code=status)
        return Exchange(url, resp, status, body, error, invoke, complete, invoke if intended is None else intended)

    def fire_request(self, ex: Exchange, method: str, name: str) -> None:
        """Locust's request event, timed from the intended send time."""
        self.fire(request_type=method, name=name, response_time=(ex.complete - ex.due) * 1000.0,
                  response_length=len(ex.body) if ex.body else 0, response=ex.response, context={},
                  exception=ex.error, start_time=ex.due, url=ex.url)

    def dropped(self, action: Action, client: int, intended: float) -> None:
        self.plan.recorder.dropped(_ACTION_OPS.get(getattr(action, "__name__", ""), 0), intended, client)


_ACTION_OPS = {"browse": _READ, "hot": _READ, "absent": _ABSENT_READ, "write_price": _WRITE, "discount": _DISCOUNT,
               "checkout": _ORDER, "cart_read": _CART_READ, "cart_write": _CART_WRITE}


class ShopperUser(FastHttpUser):
    """Closed model: one shopper sending its next request when the previous one is answered."""

    abstract = True
    plan: ClassVar[Plan]
    _indexes: ClassVar[itertools.count[int]]

    def on_start(self) -> None:
        # Per-process user index: the history's client field.
        self.index = next(self._indexes)
        rng = random.Random(f"{self.plan.seed}:{self.index}")
        self.shop = (self.plan.shop_factory or Shop)(self.plan, self.client.client, self.environment.events.request, rng)
        gevent.sleep(rng.random() * START_SPREAD_S)

    @task
    def step(self) -> None:
        self.shop.pick()(self.index, None)


class ArrivalUser(FastHttpUser):
    """Open model: runs this process's arrival schedule; a pool of senders sends the arrivals."""

    abstract = True
    plan: ClassVar[Plan]
    _indexes: ClassVar[itertools.count[int]]
    scheduled = 0
    sent = 0
    dropped = 0

    def on_start(self) -> None:
        rng = random.Random(f"{self.plan.seed}:arrivals:{next(self._indexes)}")
        self.shop = (self.plan.shop_factory or Shop)(self.plan, self.client.client, self.environment.events.request, rng)
        self.sleeper = PreciseSleeper()
        self.finished = False

    def on_stop(self) -> None:
        self.sleeper.close()

    @task
    def run_schedule(self) -> None:
        if self.finished:  # the schedule is over; idle until the process stops the user
            gevent.sleep(0.1)
            return
        plan, shop, cls = self.plan, self.shop, type(self)
        assert plan.shape is not None
        clients, rng = plan.clients, shop.rng
        senders = SenderPool(self.concurrency)
        sleep_until, offer = self.sleeper.sleep_until, senders.offer
        start_at, pick, randrange, dropped = plan.start_at, shop.pick, rng.randrange, shop.dropped
        try:
            for offset in plan.schedule(gevent.sleep):
                due = start_at + offset
                # Arrivals already due (the timer woke late, or they are closer together than a wake-up)
                # go out without another sleep, each still stamped with its own intended time.
                sleep_until(due)
                if self._state == LOCUST_STATE_STOPPING:
                    break
                cls.scheduled += 1
                action, client = pick(), randrange(clients)
                if offer(action, client, due):
                    cls.sent += 1
                else:
                    cls.dropped += 1
                    dropped(action, client, due)
            self.finished = True
            # Every request in flight finishes (bounded by its timeout) and is recorded.
            senders.join(timeout=plan.request_timeout_s + 1.0)
        except gevent.GreenletExit:
            # Killed by Locust's stop timeout: requests in flight still finish and are recorded.
            senders.close(kill_busy=False)
            raise
        senders.close()


ShopFactory = Callable[[Plan, LocustUserAgent, EventHook, random.Random], Shop]


def make_user_class(cfg: ProcessConfig, recorder: Recorder, shop_factory: ShopFactory | None = None) -> type[FastHttpUser]:
    """The concrete user class of this process: closed shoppers, or the open model's arrival runner.

    `shop_factory` builds each user's Shop when it is not the sample backend's contract (an
    adapter's: cachechaos.traffic.adapted.shop_factory_for)."""
    spec = cfg.spec
    plan = Plan.from_config(cfg, recorder)
    plan.shop_factory = shop_factory
    attrs: dict[str, Any] = {
        "abstract": False,
        "host": cfg.backends[0],
        "plan": plan,
        "_indexes": itertools.count(),
        "network_timeout": spec.request_timeout_s,
        "connection_timeout": spec.request_timeout_s,
        "wait_time": constant(0),
        "__module__": __name__,
    }
    if plan.shape is None:
        return type("Shopper", (ShopperUser,), attrs)
    # One user per process holds this process's share of max_in_flight as its connection pool.
    attrs["concurrency"] = max(1, -(-plan.shape.max_in_flight // spec.processes))
    return type("Arrivals", (ArrivalUser,), attrs)
