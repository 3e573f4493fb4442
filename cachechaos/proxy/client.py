"""The HTTP client for Toxiproxy's API, used by all of cachechaos.

Works against `toxiproxy-server` 2.x (2.0 to the newest) and against our own
server alike: it sends only requests every 2.x server routes, reads the
server's version once and switches to a newer verb only for a server that
needs it (see versions.py). One client per API URL; clients share no state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from .addresses import split_address
from .versions import UNKNOWN, has_populate, parse_api_version, updates_with_patch

DEFAULT_URL = "http://127.0.0.1:8474"
# What Go's http.NotFound writes for a path or (before 2.1.5) a method no route matches.
ROUTER_NOT_FOUND = "404 page not found"


class ToxiproxyError(Exception):
    """An API request failed; the message says what failed and what to do next."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ToxiproxyUnavailable(ToxiproxyError):
    """The API cannot be reached."""


class ProxyNotFound(ToxiproxyError):
    """No proxy by that name."""


class ToxicNotFound(ToxiproxyError):
    """No toxic by that name on the proxy."""


class AlreadyExists(ToxiproxyError):
    """A proxy or toxic by that name exists already."""


@dataclass(frozen=True)
class Toxic:
    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Toxic:
        stream = data.get("stream") or "downstream"
        return cls(
            name=data.get("name") or f"{data['type']}_{stream}",
            type=data["type"],
            stream=stream,
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()

    @property
    def listen_host(self) -> str:
        return split_address(self.listen)[0]

    @property
    def listen_port(self) -> int:
        return split_address(self.listen)[1]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Proxy:
        return cls(
            name=data["name"],
            listen=data["listen"],
            upstream=data["upstream"],
            enabled=bool(data["enabled"]),
            toxics=tuple(Toxic.from_json(t) for t in data.get("toxics") or ()),
        )


class ToxiproxyClient:
    """Synchronous client for one Toxiproxy API (ours or toxiproxy-server)."""

    def __init__(self, url: str = DEFAULT_URL, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False)
        self._server_version: str | None = None

    # -- server --------------------------------------------------------------

    def version(self) -> str:
        """The server's version as it answers now ("unknown" if its body names none).

        Toxiproxy before 2.6 answers plain text, 2.6.0 a JSON-like body that is
        not valid JSON, 2.7 on valid JSON: all three are read.
        """
        return parse_api_version(self._request("GET", "/version").text) or UNKNOWN

    def server_version(self) -> str:
        """The server's version, asked once per client (a server does not change under it)."""
        if self._server_version is None:
            self._server_version = self.version()
        return self._server_version

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Poll /version until the API answers; raise ToxiproxyUnavailable after `timeout` s."""
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            try:
                self.version()
                return
            except ToxiproxyUnavailable:
                if time.monotonic() >= deadline:
                    raise ToxiproxyUnavailable(
                        f"Toxiproxy API at {self.url} did not answer within {timeout} s; "
                        "check that the server started (see its log) and the URL is right"
                    ) from None
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.2)

    def reset(self) -> None:
        """Re-enable every proxy and remove every toxic."""
        self._request("POST", "/reset")

    # -- proxies -------------------------------------------------------------

    def proxies(self) -> dict[str, Proxy]:
        data = self._request("GET", "/proxies").json()
        return {name: Proxy.from_json(p) for name, p in data.items()}

    def get_proxy(self, name: str) -> Proxy:
        return Proxy.from_json(self._request("GET", f"/proxies/{_seg(name)}", proxy=name).json())

    def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> Proxy:
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return Proxy.from_json(self._request("POST", "/proxies", json=body, proxy=name).json())

    def update_proxy(self, name: str, **fields: Any) -> Proxy:
        """Change `listen`, `upstream` and/or `enabled` of a proxy."""
        response = self._update(f"/proxies/{_seg(name)}", fields, proxy=name)
        return Proxy.from_json(response.json())

    def delete_proxy(self, name: str) -> None:
        self._request("DELETE", f"/proxies/{_seg(name)}", proxy=name)

    def populate(self, proxies: list[dict[str, Any]]) -> list[Proxy]:
        """Create or replace proxies in one call; unchanged ones are kept as they are."""
        if not has_populate(self.server_version()):
            return [self._put_proxy(p) for p in proxies]
        data = self._request("POST", "/populate", json=proxies).json()
        return [Proxy.from_json(p) for p in data.get("proxies") or ()]

    def _put_proxy(self, config: dict[str, Any]) -> Proxy:
        """What /populate does for one proxy, for 2.0.x servers that lack it."""
        wanted = {"listen": "127.0.0.1:0", "enabled": True, **config}
        try:
            current = self.get_proxy(wanted["name"])
        except ProxyNotFound:
            return self.create_proxy(**wanted)
        if (current.upstream, current.enabled) == (wanted["upstream"], wanted["enabled"]) and (
            current.listen == wanted["listen"] or wanted["listen"].endswith(":0")
        ):
            return current
        self.delete_proxy(current.name)
        return self.create_proxy(**wanted)

    def enable(self, name: str) -> Proxy:
        return self.update_proxy(name, enabled=True)

    def disable(self, name: str) -> Proxy:
        """Stop listening and close every connection of the proxy."""
        return self.update_proxy(name, enabled=False)

    # -- toxics --------------------------------------------------------------

    def toxics(self, proxy: str) -> list[Toxic]:
        data = self._request("GET", f"/proxies/{_seg(proxy)}/toxics", proxy=proxy).json()
        return [Toxic.from_json(t) for t in data]

    def get_toxic(self, proxy: str, name: str) -> Toxic:
        path = f"/proxies/{_seg(proxy)}/toxics/{_seg(name)}"
        return Toxic.from_json(self._request("GET", path, proxy=proxy, toxic=name).json())

    def add_toxic(
        self,
        proxy: str,
        type: str,
        attributes: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
    ) -> Toxic:
        toxic_name = name or f"{type}_{stream}"
        body = {
            "name": toxic_name,
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes or {},
        }
        path = f"/proxies/{_seg(proxy)}/toxics"
        return Toxic.from_json(
            self._request("POST", path, json=body, proxy=proxy, toxic=toxic_name).json()
        )

    def update_toxic(
        self, proxy: str, name: str, attributes: dict[str, Any], toxicity: float | None = None
    ) -> Toxic:
        """Merge `attributes` (and optionally a new toxicity) into a toxic."""
        body: dict[str, Any] = {"attributes": attributes}
        if toxicity is not None:
            body["toxicity"] = toxicity
        path = f"/proxies/{_seg(proxy)}/toxics/{_seg(name)}"
        return Toxic.from_json(self._update(path, body, proxy=proxy, toxic=name).json())

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._request("DELETE", f"/proxies/{_seg(proxy)}/toxics/{_seg(name)}",
                      proxy=proxy, toxic=name)

    # -- plumbing --------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ToxiproxyClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _update(self, path: str, body: dict[str, Any], **context: str) -> httpx.Response:
        # POST is the update verb of every 2.x server: PATCH came in 2.6.0 and
        # older servers refuse it (2.1.4 and before with a bare 404).
        method = "PATCH" if updates_with_patch(self.server_version()) else "POST"
        return self._request(method, path, json=body, **context)

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        proxy: str | None = None,
        toxic: str | None = None,
    ) -> httpx.Response:
        try:
            response = self._http.request(method, path, json=json)
        except httpx.TransportError as exc:
            raise ToxiproxyUnavailable(
                f"cannot reach the Toxiproxy API at {self.url} ({exc.__class__.__name__}: {exc}); "
                "start it with `python -m cachechaos.proxy --listen HOST:PORT` "
                "or `toxiproxy-server`, or fix the URL"
            ) from exc
        if response.status_code < 400:
            return response
        raise _error_for(response, method, path, proxy, toxic)


def _seg(name: str) -> str:
    return quote(name, safe="")


def _error_for(
    response: httpx.Response, method: str, path: str, proxy: str | None, toxic: str | None
) -> ToxiproxyError:
    status = response.status_code
    try:
        data = response.json()
        # Toxiproxy 2.0.x named the message "title".
        message = str(data.get("error") or data.get("title") or response.text)
    except (ValueError, AttributeError):
        message = response.text.strip() or response.reason_phrase
    where = f"{method} {path} -> {status} {message}"
    if status in (404, 405) and message in (ROUTER_NOT_FOUND, "", response.reason_phrase):
        # The router's own answer, not the API's JSON error: the server has no such route.
        return ToxiproxyError(
            f"{where}: this Toxiproxy server has no route for {method} {path}; "
            "it is older than this request needs (see the README's compatibility table)",
            status,
        )
    if status == 404 and "toxic" in message.lower():
        return ToxicNotFound(
            f"{where}: proxy {proxy!r} has no toxic {toxic!r}; list them with toxics({proxy!r})",
            status,
        )
    if status == 404 and proxy is not None:
        return ProxyNotFound(
            f"{where}: no proxy named {proxy!r}; create it first or list them with proxies()",
            status,
        )
    if status == 409:
        thing = f"toxic {toxic!r} on proxy {proxy!r}" if toxic else f"proxy {proxy!r}"
        return AlreadyExists(
            f"{where}: {thing} exists already; remove it first or pick another name", status
        )
    if status == 400:
        return ToxiproxyError(f"{where}: the request was rejected, fix the fields named", status)
    if status >= 500:
        return ToxiproxyError(
            f"{where}: the server failed (e.g. the listen address is in use); see its log",
            status,
        )
    return ToxiproxyError(where, status)
