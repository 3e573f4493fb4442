"""Pre-flight check of an external target against the backend contract (`cachechaos probe`).

Each finding is one real call: the product GET and PUT shapes, versions growing by one, the
optional X-Cache header, `Cache-Control: no-cache`, /metrics, carts, and the Redis nodes,
Sentinels, PostgreSQL and Toxiproxy the topology names. From the findings follows which checks
and faults an experiment can use against the target. The target is conformant when every
required finding holds: the product contract, and every endpoint the topology names answering.

The write probes PUT a product's current price back twice (and an empty cart, when carts
exist): prices are unchanged, but versions grow. `write=False` skips them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import httpx
import psycopg
import redis

from cachechaos.applicability import SOURCES, ProbeSeen, check_needs, fault_type_needs, line, offer_of
from cachechaos.checks.registry import CHECKS
from cachechaos.faults import REGISTRY as FAULTS
from cachechaos.metric_names import translate
from cachechaos.names import backend_urls
from cachechaos.prometheus_text import prometheus_samples
from cachechaos.proxy.client import ToxiproxyClient, ToxiproxyError
from cachechaos.runtime.external_spec import ExternalTopologySpec
from cachechaos.runtime.ports import split_address
from cachechaos.runtime.redis import as_text

Status = Literal["ok", "warn", "missing", "fail", "skipped"]
LAYERS = frozenset({"l1", "l2", "miss"})
BYPASS = {"Cache-Control": "no-cache"}
# Far outside any catalog the traffic draws from: the contract answers 404.
ABSENT_OFFSET = 1_000_000_000


@dataclass
class Finding:
    area: str            # backend, redis, sentinel, postgres, toxiproxy
    name: str
    status: Status
    required: bool
    detail: str

    @property
    def failed(self) -> bool:
        return self.required and self.status in ("missing", "fail")


@dataclass
class Capability:
    kind: Literal["check", "fault"]
    name: str
    possible: bool | None  # None: the probe could not tell without changing the target
    why: str


@dataclass
class ProbeReport:
    target: str
    write: bool
    findings: list[Finding] = field(default_factory=list)
    capabilities: list[Capability] = field(default_factory=list)

    @property
    def conformant(self) -> bool:
        return not self.missing()

    def missing(self) -> list[str]:
        """What stands between the target and conformance, one line each."""
        return [f"{f.area} {f.name}: {f.detail}" for f in self.findings if f.failed]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "conformant": self.conformant, "missing": self.missing()}


class _Prober:
    def __init__(self, spec: ExternalTopologySpec, write: bool, timeout: float) -> None:
        self.spec = spec
        self.write = write
        self.timeout = timeout
        self.report = ProbeReport(spec.name, write)
        self.seen = ProbeSeen()

    def add(self, area: str, name: str, status: Status, detail: str, required: bool = True) -> None:
        self.report.findings.append(Finding(area, name, status, required, detail))

    # -- the backend contract ---------------------------------------------------------------------

    def backends(self) -> None:
        urls = backend_urls(self.spec.backends)
        if self.spec.adapter is not None:
            self.adapter(list(urls.values()))
            return
        for name, url in urls.items():
            self.http(name, "GET /health", _health, url)
        with httpx.Client(base_url=next(iter(urls.values())), timeout=self.timeout) as client:
            self.products(client)
            self.metrics(client)
            self.carts(client)

    def adapter(self, urls: list[str]) -> None:
        """The adapter's operations instead of the contract (cachechaos.adapters.probe)."""
        from cachechaos.adapters.probe import probe_adapter

        assert self.spec.adapter is not None
        adapted = probe_adapter(self.spec.adapter, urls[0], self.add, self.write, self.timeout)  # type: ignore[arg-type]
        self.seen.reads, self.seen.versions = adapted.reads, adapted.versions
        self.seen.x_cache, self.seen.bypass = adapted.layer, adapted.bypass
        self.seen.carts = self.spec.adapter.implements("cart_read") and self.spec.adapter.implements("cart_write")
        with httpx.Client(base_url=urls[0], timeout=self.timeout) as client:
            self.metrics(client)

    def http(self, area: str, name: str, call: Callable[[httpx.Client], tuple[Status, str]], url: str) -> None:
        try:
            with httpx.Client(base_url=url, timeout=self.timeout) as client:
                status, detail = call(client)
        except httpx.HTTPError as exc:
            status, detail = "fail", f"{url}: {type(exc).__name__}: {exc}"
        self.add(area, name, status, detail)

    def products(self, client: httpx.Client) -> None:
        pid = 1
        try:
            first = client.get(f"/products/{pid}")
            doc = _product(first, pid)
        except (httpx.HTTPError, ValueError) as exc:
            self.add("backend", "GET /products/{id}", "fail", f"/products/{pid}: {_why(exc)}")
            self.add("backend", "PUT /products/{id}", "skipped", "needs a product that reads", required=False)
            return
        self.seen.reads = True
        self.add("backend", "GET /products/{id}", "ok", f"/products/{pid} -> id {doc['id']}, price {doc['price']}, version {doc['version']}")
        self.absent(client)
        self.x_cache(client, pid, first)
        if not self.write:
            self.add("backend", "PUT /products/{id}", "skipped", "--no-write: versions and the no-cache bypass not probed", required=False)
            return
        try:
            v1 = _product(client.put(f"/products/{pid}", json={"price": doc["price"]}), pid)["version"]
            v2 = _product(client.put(f"/products/{pid}", json={"price": doc["price"]}), pid)["version"]
        except (httpx.HTTPError, ValueError) as exc:
            self.add("backend", "PUT /products/{id}", "fail", f"/products/{pid}: {_why(exc)}")
            return
        if v1 > doc["version"] and v2 == v1 + 1:
            self.seen.versions = True
            self.add("backend", "versions grow by one", "ok", f"read {doc['version']}, two PUTs -> {v1}, {v2}")
        else:
            self.add("backend", "versions grow by one", "fail",
                     f"read {doc['version']}, two PUTs -> {v1}, {v2}: staleness is undecidable without +1 versions")
        try:
            seen = _product(client.get(f"/products/{pid}", headers=BYPASS), pid)["version"]
        except (httpx.HTTPError, ValueError) as exc:
            self.add("backend", "Cache-Control: no-cache", "fail", _why(exc), required=False)
            return
        self.seen.bypass = seen >= v2
        if self.seen.bypass:
            self.add("backend", "Cache-Control: no-cache", "ok", f"a read right after the write saw version {seen}", required=False)
        else:
            self.add("backend", "Cache-Control: no-cache", "warn",
                     f"read version {seen} right after writing {v2}: ignored; final reads wait "
                     f"{self.spec.quiescence_s():g} s (final_reads.quiescence_s / cache.max_ttl_s)", required=False)

    def absent(self, client: httpx.Client) -> None:
        pid = self.spec.catalog.products + ABSENT_OFFSET
        response = client.get(f"/products/{pid}")
        self.seen.absent_404 = response.status_code == 404
        self.add("backend", "GET absent product -> 404", "ok" if self.seen.absent_404 else "fail",
                 f"/products/{pid} -> HTTP {response.status_code}")

    def x_cache(self, client: httpx.Client, pid: int, first: httpx.Response) -> None:
        values = {first.headers.get("x-cache")} | {client.get(f"/products/{pid}").headers.get("x-cache") for _ in range(2)}
        values.discard(None)
        if not values:
            self.add("backend", "X-Cache header", "missing", "absent: hit rates per layer cannot come from the history",
                     required=False)
        elif values <= LAYERS:
            self.seen.x_cache = True
            self.add("backend", "X-Cache header", "ok", f"present: {', '.join(sorted(v for v in values if v))}", required=False)
        else:
            self.add("backend", "X-Cache header", "warn", f"values {sorted(v for v in values if v)} are not l1 | l2 | miss",
                     required=False)

    def metrics(self, client: httpx.Client) -> None:
        try:
            response = client.get("/metrics")
        except httpx.HTTPError as exc:
            self.add("backend", "GET /metrics", "missing", _why(exc), required=False)
            return
        if response.status_code != 200:
            self.add("backend", "GET /metrics", "missing", f"HTTP {response.status_code}: the metric-based checks lose it",
                     required=False)
            return
        samples, problem = prometheus_samples(response.text)
        self.seen.metrics = translate(samples, self.spec.metrics)
        if not samples:
            self.add("backend", "GET /metrics", "missing", problem or "an empty body", required=False)
        else:
            self.add("backend", "GET /metrics", "warn" if problem else "ok",
                     f"{len(samples)} Prometheus samples" + (f"; then {problem}" if problem else ""), required=False)

    def carts(self, client: httpx.Client) -> None:
        try:
            before = _versioned(client.get("/carts/1"))
            if self.write:
                v1 = _versioned(client.put("/carts/1", json={"items": []}))
                v2 = _versioned(client.put("/carts/1", json={"items": []}))
                if v2 != v1 + 1 or v1 <= before:
                    raise ValueError(f"versions {before}, {v1}, {v2} do not grow by one")
                detail = f"read {before}, two PUTs -> {v1}, {v2}"
            else:
                detail = f"read version {before} (writes not probed)"
        except (httpx.HTTPError, ValueError) as exc:
            self.seen.carts = False
            self.add("backend", "GET|PUT /carts/{user}", "missing", f"{_why(exc)}: no cart traffic", required=False)
            return
        self.seen.carts = True
        self.add("backend", "GET|PUT /carts/{user}", "ok", detail, required=False)

    # -- what the topology names --------------------------------------------------------------------

    def redis(self) -> None:
        auth = self.spec.redis
        for name, address in auth.nodes.items():
            host, port = split_address(address)
            try:
                with redis.Redis(host=host, port=port, username=auth.username, password=auth.password,
                                 socket_timeout=self.timeout, socket_connect_timeout=self.timeout) as r:
                    role = r.info("replication").get("role")
                self.seen.redis_ok.append(name)
                self.add("redis", name, "ok", f"{address}: {role}")
            except (redis.RedisError, OSError) as exc:
                self.add("redis", name, "fail", f"{address}: {_why(exc)}")
        for i, address in enumerate(self.spec.redis.sentinels, start=1):
            host, port = split_address(address)
            try:
                with redis.Redis(host=host, port=port, password=auth.sentinel_password, socket_timeout=self.timeout,
                                 socket_connect_timeout=self.timeout) as s:
                    found = s.execute_command("SENTINEL", "get-master-addr-by-name", self.spec.redis.master_name)
            except (redis.RedisError, OSError) as exc:
                self.add("sentinel", f"sentinel-{i}", "fail", f"{address}: {_why(exc)}")
                continue
            if not found:
                self.add("sentinel", f"sentinel-{i}", "fail", f"{address}: knows no master {self.spec.redis.master_name!r}")
                continue
            primary = f"{as_text(found[0])}:{int(found[1])}"
            self.seen.sentinel_primary = next((n for n, a in self.spec.redis.nodes.items() if a == primary), primary)
            self.add("sentinel", f"sentinel-{i}", "ok", f"{address}: primary {primary}")

    def postgres(self) -> None:
        pg = self.spec.postgres
        if pg is None:
            return
        try:
            with psycopg.connect(pg.dsn, connect_timeout=max(1, int(self.timeout))) as conn:
                conn.execute("SELECT 1")
                for t in pg.tables.values():
                    conn.execute(f"SELECT {t.key}, {t.version} FROM {t.table} LIMIT 1")  # validated identifiers
        except psycopg.Error as exc:
            self.add("postgres", "dsn", "fail", " ".join(str(exc).split()))
            return
        self.seen.postgres = True
        mapped = ", ".join(f"{kind} = {t.table}({t.key}, {t.version})" for kind, t in pg.tables.items())
        self.add("postgres", "dsn", "ok", "reachable" + (f"; final reads in SQL for {mapped}" if mapped else ""))

    def toxiproxy(self) -> None:
        if self.spec.toxiproxy is None:
            return
        try:
            with ToxiproxyClient(self.spec.toxiproxy.url, timeout=self.timeout) as client:
                self.seen.proxies = sorted(client.proxies())
        except (ToxiproxyError, httpx.HTTPError, OSError) as exc:
            self.add("toxiproxy", "api", "fail", f"{self.spec.toxiproxy.url}: {_why(exc)}")
            return
        self.add("toxiproxy", "api", "ok", f"proxies: {', '.join(self.seen.proxies) or 'none'}")

    # -- what follows ---------------------------------------------------------------------------------

    def capabilities(self) -> None:
        caps = self.report.capabilities
        for name in CHECKS:
            possible, why = _check_possible(name, self.seen, self.spec)
            caps.append(Capability("check", name, possible, why))
        for name in FAULTS:
            possible, why = _fault_possible(name, self.seen, self.spec)
            caps.append(Capability("fault", name, possible, why))


def probe_target(spec: ExternalTopologySpec, write: bool = True, timeout: float = 2.0) -> ProbeReport:
    """Probe every endpoint an external topology names; see the module docstring."""
    return _probed(spec, write, timeout).report


def probe_seen(spec: ExternalTopologySpec, write: bool = False, timeout: float = 2.0) -> ProbeSeen:
    """What answered, for matching a gate's rows against the target (cachechaos.applicability)."""
    return _probed(spec, write, timeout).seen


def _probed(spec: ExternalTopologySpec, write: bool, timeout: float) -> _Prober:
    prober = _Prober(spec, write, timeout)
    prober.backends()
    prober.redis()
    prober.postgres()
    prober.toxiproxy()
    prober.capabilities()
    return prober


def _health(client: httpx.Client) -> tuple[Status, str]:
    response = client.get("/health")
    return ("ok" if response.status_code == 200 else "fail"), f"{client.base_url} -> HTTP {response.status_code}"


def _why(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _json_object(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise ValueError(f"HTTP {response.status_code}")
    doc = response.json()
    if not isinstance(doc, dict):
        raise ValueError("the body is not a JSON object")
    return doc


def _versioned(response: httpx.Response) -> int:
    version = _json_object(response).get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"'version' is {version!r}, not an integer")
    return version


def _product(response: httpx.Response, pid: int) -> dict[str, Any]:
    """The product document, checked against the contract's shape; ValueError says what is wrong."""
    doc = _json_object(response)
    missing = [k for k in ("id", "price", "version") if k not in doc]
    if missing:
        raise ValueError(f"the body lacks {', '.join(missing)}")
    if doc["id"] != pid and str(doc["id"]) != str(pid):
        raise ValueError(f"asked for id {pid}, got {doc['id']!r}")
    _versioned(response)
    return doc


# Parts of the contract the probe does not call, because calling them changes the service's data.
_UNPROBED = {"oversell": ("orders", "POST /orders not probed (it would sell stock)"),
             "bulk_discount": ("discount", "POST /categories/{id}/discount not probed (it would rewrite prices)")}
# The parameters the probe judges a check with: lost writes of products, which every contract service has.
# Series checks judge any series: the probe asks of them what the history gives every target.
_PROBE_PARAMS: dict[str, dict[str, Any]] = {"lost_writes": {"op": "product"}, "recovery_time": {"metric": "p99_ms"},
                                            "series_stat": {"metric": "p99_ms"}}
# Checks that order reads and writes by version.
_VERSIONED = ("stale_read_rate", "monotonic_reads", "lost_writes", "failover_time")


def _check_possible(name: str, seen: ProbeSeen, spec: ExternalTopologySpec) -> tuple[bool | None, str]:
    """Whether a check can judge this target: the declarations of cachechaos.applicability, matched
    against what the probe found answering."""
    if name in _UNPROBED and spec.adapter is None and _UNPROBED[name][0] not in spec.offers:
        return None, _UNPROBED[name][1]
    if not seen.reads:
        return False, "needs product reads"
    if name in _VERSIONED and not seen.versions:
        return False, "needs product writes with versions (from the service, or from unique written values)"
    lacks = offer_of(spec, seen).lacks(check_needs(name, _PROBE_PARAMS.get(name, {})))
    if lacks:
        return False, "; ".join(line(n) for n in lacks)
    if name == "lost_writes":
        pg = spec.postgres
        how = "products in SQL" if pg and "products" in pg.tables else "products over HTTP"
        how += "" if seen.bypass else f" after {spec.quiescence_s():g} s quiescence"
        return True, how + ("; carts too" if seen.carts else "; no carts")
    needs = check_needs(name, _PROBE_PARAMS.get(name, {}))
    if needs:
        return True, "from " + ", ".join(SOURCES.get(n, n) for n in sorted(needs))
    if name not in _VERSIONED:
        return True, "from the history"
    derived = spec.adapter is not None and spec.adapter.derives_versions
    return True, "from the history, " + ("versions from unique written values" if derived else "versions the service reports")


def _fault_possible(name: str, seen: ProbeSeen, spec: ExternalTopologySpec) -> tuple[bool | None, str]:
    if name in _UNPROBED and spec.adapter is None and _UNPROBED[name][0] not in spec.offers:
        return None, _UNPROBED[name][1]
    offer = offer_of(spec, seen)
    if name in ("latency", "timeout", "down"):
        roles = sorted(n.removeprefix("link:") for n in offer.has if n.startswith("link:"))
        if not seen.proxies:
            return False, "needs a reachable toxiproxy.url with proxies"
        return True, f"links: {', '.join(seen.proxies)}" + (f"; roles: {', '.join(roles)}" if roles
                                                           else "; gate rows need toxiproxy.links (roles) too")
    lacks = offer.lacks(fault_type_needs(name, {}))
    if lacks:
        return False, "; ".join(line(n) for n in lacks)
    return True, "with --allow-destructive on " + (", ".join(sorted(set(spec.chaos_targets))) or "its chaos targets")
