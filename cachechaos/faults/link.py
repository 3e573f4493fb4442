"""Faults on a proxied link: latency, timeout, a link that is down."""

from __future__ import annotations

import fnmatch
from typing import Any, Literal

from pydantic import Field

from cachechaos.faults.base import Fault, FaultParams, register
from cachechaos.heal import enable_proxy_step, remove_toxic_step
from cachechaos.proxy.client import ProxyNotFound, ToxicNotFound
from cachechaos.runtime.target import ProxyControl

Stream = Literal["upstream", "downstream", "both"]


class LinkParams(FaultParams):
    link: str = Field(description="proxy name, e.g. redis-1, postgres, sentinel-1; a glob (pubsub.*) names several")


class _LinkFault(Fault[Any]):
    requires = (ProxyControl,)

    @property
    def target_name(self) -> str:
        return str(self.params.link)

    def links(self) -> list[str]:
        """The proxies this fault acts on: the named link, or every link matching the glob."""
        known = self.ctx.target.endpoints.links
        pattern = self.params.link
        if not any(c in pattern for c in "*?["):
            if known and pattern not in known:
                raise ProxyNotFound(f"no link {pattern!r}; links: {', '.join(sorted(known))}")
            return [pattern]
        matched = sorted(name for name in known if fnmatch.fnmatchcase(name, pattern))
        if not matched:
            raise ProxyNotFound(f"no link matches {pattern!r}; links: {', '.join(sorted(known))}")
        return matched


class _ToxicFault(_LinkFault):
    """Adds one toxic per stream; heal removes them (gone already is fine)."""

    toxic_type: str

    def streams(self) -> list[str]:
        stream = getattr(self.params, "stream", "downstream")
        return ["upstream", "downstream"] if stream == "both" else [stream]

    def attributes(self) -> dict[str, Any]:
        raise NotImplementedError

    def _toxic_name(self, stream: str) -> str:
        return f"cachechaos_{self.id}_{stream}"

    def inject(self) -> dict[str, Any]:
        self._links = self.links()
        with self.ctx.proxies.proxy_client() as client:
            for link in self._links:
                for stream in self.streams():
                    self.will_heal(remove_toxic_step(self.ctx.target.endpoints.proxy_api, link, self._toxic_name(stream)))
                    client.add_toxic(link, self.toxic_type, self.attributes(), name=self._toxic_name(stream), stream=stream)
        return {"toxic": self.toxic_type, "attributes": self.attributes(), "streams": self.streams(), "links": self._links}

    def heal(self) -> dict[str, Any]:
        removed = []
        with self.ctx.proxies.proxy_client() as client:
            for link in getattr(self, "_links", []):
                for stream in self.streams():
                    try:
                        client.remove_toxic(link, self._toxic_name(stream))
                        removed.append(f"{link}/{stream}")
                    except (ToxicNotFound, ProxyNotFound):
                        pass
        return {"removed": removed}


class LatencyParams(LinkParams):
    type: Literal["latency"] = "latency"
    latency_ms: int = Field(ge=0)
    jitter_ms: int = Field(0, ge=0)
    stream: Stream = "downstream"


@register
class Latency(_ToxicFault):
    type = "latency"
    params_model = LatencyParams
    toxic_type = "latency"

    def attributes(self) -> dict[str, Any]:
        return {"latency": self.params.latency_ms, "jitter": self.params.jitter_ms}


class TimeoutParams(LinkParams):
    type: Literal["timeout"] = "timeout"
    timeout_ms: int = Field(0, ge=0, description="close after this long; 0 = hold data forever")
    stream: Stream = "downstream"


@register
class Timeout(_ToxicFault):
    type = "timeout"
    params_model = TimeoutParams
    toxic_type = "timeout"

    def attributes(self) -> dict[str, Any]:
        return {"timeout": self.params.timeout_ms}


class DownParams(LinkParams):
    type: Literal["down"] = "down"


@register
class Down(_LinkFault):
    """The link refuses connections and drops open ones (proxy disabled)."""

    type = "down"
    params_model = DownParams

    def inject(self) -> dict[str, Any]:
        self._links = self.links()
        with self.ctx.proxies.proxy_client() as client:
            for link in self._links:
                self.will_heal(enable_proxy_step(self.ctx.target.endpoints.proxy_api, link))
                client.disable(link)
        return {"links": self._links}

    def heal(self) -> dict[str, Any]:
        with self.ctx.proxies.proxy_client() as client:
            for link in getattr(self, "_links", []):
                client.enable(link)
        return {"links": getattr(self, "_links", [])}
