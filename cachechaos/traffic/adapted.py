"""The shopper's actions sent through an adapter: the load workers' side of an adapter.

The same traffic (Zipf reads, writers, the hot key, bulk updates, orders, carts) as the
contract's `Shop`, with every request built from the adapter's compiled templates (HTTP) or
made by the user's Python class (hook), and every answer read the adapter's way. Imports Locust
(and so gevent's monkey-patching): only load processes import this module.
"""

from __future__ import annotations

import random
from typing import Any

from locust.contrib.fasthttp import LocustUserAgent
from locust.event import EventHook

from cachechaos.adapters.compiled import READS, CompiledAdapter
from cachechaos.adapters.hook import BulkWritten, bulk_outcome, hook_outcome, load_hook
from cachechaos.adapters.keys import KeySpace
from cachechaos.adapters.model import AdapterSpec
from cachechaos.adapters.values import UNKNOWN, UniqueValues, run_nonce
from cachechaos.history.clock import now
from cachechaos.history.format import Op
from cachechaos.traffic.config import ProcessConfig
from cachechaos.traffic.users import Plan, Shop, ShopFactory

_READ, _WRITE, _DISCOUNT, _DISCOUNT_WRITE = int(Op.READ), int(Op.WRITE), int(Op.DISCOUNT), int(Op.DISCOUNT_WRITE)
_ORDER, _CART_READ, _CART_WRITE, _ABSENT = int(Op.ORDER), int(Op.CART_READ), int(Op.CART_WRITE), int(Op.ABSENT_READ)


class AdapterRuntime:
    """What every shopper of one process shares: the compiled adapter or the hook instances, the tags."""

    def __init__(self, spec: AdapterSpec, cfg: ProcessConfig) -> None:
        self.spec = spec
        self.values = UniqueValues(spec.values, run_nonce(cfg.start_at), cfg.index, cfg.spec.processes)
        self.keys, self.users, self.groups = KeySpace(spec.keys), KeySpace(spec.users), KeySpace(spec.groups)
        self.compiled = CompiledAdapter(spec, self.values) if spec.python is None else None
        self.compiled_derived = spec.derives_versions
        # One hook instance per backend, so a hook may keep a connection pool to its base URL.
        self.hooks = [load_hook(spec, url.rstrip("/")) for url in cfg.backends] if spec.python is not None else []
        self.names = ({name: f"{op.method} {op.url}" for name, op in
                       ((n, getattr(spec, n)) for n in ("read", "write", "bulk_update", "order", "cart_read", "cart_write"))
                       if op is not None} if self.compiled else {})

    def shop(self, plan: Plan, agent: LocustUserAgent, request_event: EventHook, rng: random.Random) -> Shop:
        cls = HookShop if self.hooks else HttpAdapterShop
        return cls(plan, agent, request_event, rng, self)


class AdapterShop(Shop):
    """The actions: which key, which value; `_call` (per transport) sends and records."""

    def __init__(self, plan: Plan, agent: LocustUserAgent, request_event: EventHook, rng: random.Random,
                 runtime: AdapterRuntime) -> None:
        super().__init__(plan, agent, request_event, rng)
        self.rt = runtime

    def browse(self, client: int, intended: float | None) -> None:
        plan = self.plan
        rank = plan.hot_key if plan.hot_share and self.rng.random() < plan.hot_share else plan.zipf.sample(self.rng)
        self._call("read", _READ, self.rt.keys.history_key(rank), client, intended)

    def hot(self, client: int, intended: float | None) -> None:
        self._call("read", _READ, self.rt.keys.history_key(self.plan.hot_key), client, intended)

    def absent(self, client: int, intended: float | None) -> None:
        keys = self.rt.keys
        assert keys.range is not None  # the mix leaves `absent` out for listed keys
        self._call("read", _ABSENT, keys.range.last + 1 + self.rng.randrange(keys.n), client, intended)

    def write_price(self, client: int, intended: float | None) -> None:
        key = self.rt.keys.history_key(self.plan.zipf.sample(self.rng))
        self._call("write", _WRITE, key, client, intended, tag=self.rt.values.next())

    def discount(self, client: int, intended: float | None) -> None:
        plan = self.plan
        group = self.rt.groups.history_key(plan.discount_category or self.rng.randint(1, plan.categories))
        self._call("bulk_update", _DISCOUNT, group, client, intended, tag=self.rt.values.next())

    def checkout(self, client: int, intended: float | None) -> None:
        key = self.rt.keys.history_key(self.plan.zipf.sample(self.rng))
        self._call("order", _ORDER, key, client, intended, qty=self.rng.randint(1, 2))

    def cart_read(self, client: int, intended: float | None) -> None:
        self._call("cart_read", _CART_READ, self.rt.users.history_key(self.plan.user_id(client)), client, intended)

    def cart_write(self, client: int, intended: float | None) -> None:
        user = self.rt.users.history_key(self.plan.user_id(client))
        self._call("cart_write", _CART_WRITE, user, client, intended, tag=self.rt.values.next())

    def _call(self, name: str, op: int, key: int, client: int, intended: float | None,
              tag: int = UNKNOWN, qty: int = 0) -> None:
        raise NotImplementedError

    def _bulk_records(self, group: int, invoke: float, complete: float, status: int, client: int, due: float,
                      updates: list[tuple[int, int]]) -> None:
        ok = 200 <= status < 300
        record = self.plan.recorder.writer.record
        record(invoke, complete, _DISCOUNT, group, len(updates) if ok else UNKNOWN, 0, status, client, due)
        for key, version in updates:
            record(invoke, complete, _DISCOUNT_WRITE, key, version, 0, status, client, due)

    def _user_key(self, name: str, key: int) -> dict[str, str]:
        space = self.rt.groups if name == "bulk_update" else self.rt.users if name.startswith("cart") else self.rt.keys
        return space.fields("group" if name == "bulk_update" else "user" if name.startswith("cart") else "key", key)


class HttpAdapterShop(AdapterShop):
    """Requests built from the declared templates, sent through Locust's client."""

    def _call(self, name: str, op: int, key: int, client: int, intended: float | None,
              tag: int = UNKNOWN, qty: int = 0) -> None:
        compiled = self.rt.compiled
        assert compiled is not None
        fields = self._user_key(name, key)
        if tag != UNKNOWN:
            fields.update(compiled.value_fields(tag))
        if name == "bulk_update":
            fields["t_percent"] = fields["u_percent"] = fields["j_percent"] = repr(self.plan.discount_percent)
        elif name == "order":
            fields.update(self.rt.users.fields("user", self.rt.users.history_key(self.plan.user_id(client))))
            fields["t_qty"] = fields["u_qty"] = fields["j_qty"] = str(qty)
        request = compiled.ops[name].request(fields)
        ex = self._exchange(request.method, request.path, request.payload, request.headers, intended)
        status, headers = ex.status, ex.headers
        if name == "bulk_update":
            updates = compiled.bulk_updates(status, ex.body, tag)
            self._bulk_records(key, ex.invoke, ex.complete, status, client, ex.due, updates)
        else:
            if name in READS:
                version = compiled.read_version(name, status, ex.body, headers)
            elif name == "order":
                version = qty
            else:
                version = compiled.write_version(name, status, ex.body, headers, tag)
            layer = compiled.layer(headers, ex.body) if name in READS else None
            self.record(op, key, ex.invoke, ex.complete, status, layer, None, client, version, ex.due)
        self.fire_request(ex, request.method, self.rt.names[name])


class HookShop(AdapterShop):
    """Each operation a call of the user's Python class, timed and recorded like a request."""

    def _call(self, name: str, op: int, key: int, client: int, intended: float | None,
              tag: int = UNKNOWN, qty: int = 0) -> None:
        rt = self.rt
        hooks = rt.hooks
        hook = hooks[int(self.rng.random() * len(hooks))] if len(hooks) > 1 else hooks[0]
        value = rt.values.python(tag) if tag != UNKNOWN else None
        if name == "read":
            args: tuple[Any, ...] = (rt.keys.raw(key),)
        elif name == "write":
            args = (rt.keys.raw(key), value)
        elif name == "bulk_update":
            args = (rt.groups.raw(key), value, self.plan.discount_percent)
        elif name == "order":
            args = (rt.keys.raw(key), qty, rt.users.raw(rt.users.history_key(self.plan.user_id(client))))
        else:
            args = (rt.users.raw(key),) + ((value,) if name == "cart_write" else ())
        error: Exception | None = None
        invoke = now()
        try:
            result = getattr(hook, name)(*args)
        except Exception as exc:  # the user's code: whatever it raises is a request without an answer
            error, result = exc, None
        complete = now()
        due = invoke if intended is None else intended
        status, version, layer = hook_outcome(name, result, rt.values, tag, qty, rt.compiled_derived)
        if name == "bulk_update":
            updates = bulk_outcome(result, rt.keys, tag) if isinstance(result, BulkWritten) else []
            self._bulk_records(key, invoke, complete, status, client, due, updates)
        else:
            self.record(op, key, invoke, complete, status, layer, None, client, version, due)
        self.fire(request_type="HOOK", name=name, response_time=(complete - due) * 1000.0, response_length=0,
                  response=None, context={}, exception=error, start_time=due, url=None)


def shop_factory_for(cfg: ProcessConfig) -> ShopFactory | None:
    """The Shop builder of a process whose topology declares an adapter; None for the contract."""
    return AdapterRuntime(cfg.adapter, cfg).shop if cfg.adapter is not None else None
