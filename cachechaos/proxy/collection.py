"""All proxies of one server and the operations the API performs on them."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from . import errors
from .errors import ApiError
from .served_proxy import ServedProxy
from .toxic_spec import ToxicSpec

log = logging.getLogger("cachechaos.proxy")


@dataclass(frozen=True)
class ProxyConfig:
    name: str
    listen: str
    upstream: str
    enabled: bool


class ProxyCollection:
    def __init__(self) -> None:
        self.proxies: dict[str, ServedProxy] = {}
        # Serialises operations that await a bind; toxic changes need no lock
        # because they complete without yielding to the loop.
        self._lock = asyncio.Lock()

    def get(self, name: str) -> ServedProxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise errors.proxy_not_found()
        return proxy

    async def create(self, config: ProxyConfig) -> ServedProxy:
        async with self._lock:
            if config.name in self.proxies:
                raise ApiError(errors.PROXY_ALREADY_EXISTS, 409)
            proxy = await self._start_new(config)
        log.info("proxy created: %s listen=%s upstream=%s enabled=%s",
                 proxy.name, proxy.listen, proxy.upstream, proxy.enabled)
        return proxy

    async def update(
        self, name: str, listen: str | None, upstream: str | None, enabled: bool | None
    ) -> ServedProxy:
        async with self._lock:
            proxy = self.get(name)
            new_listen = proxy.listen if listen is None else listen
            new_upstream = proxy.upstream if upstream is None else upstream
            new_enabled = proxy.enabled if enabled is None else enabled
            if new_listen != proxy.listen or new_upstream != proxy.upstream:
                proxy.stop()
                if new_listen != proxy.listen:
                    proxy.requested_listen = new_listen
                proxy.listen, proxy.upstream = new_listen, new_upstream
            if new_enabled and not proxy.enabled:
                await proxy.start()
            elif not new_enabled and proxy.enabled:
                proxy.stop()
        log.info("proxy updated: %s listen=%s upstream=%s enabled=%s",
                 proxy.name, proxy.listen, proxy.upstream, proxy.enabled)
        return proxy

    async def delete(self, name: str) -> None:
        async with self._lock:
            proxy = self.get(name)
            proxy.stop()
            del self.proxies[name]
        log.info("proxy deleted: %s", name)

    async def populate(self, configs: list[ProxyConfig]) -> list[ServedProxy]:
        """Create or replace the given proxies; unchanged ones are left as they are.

        The caller has validated every entry; bind failures raise ApiError with
        the proxies applied so far in `applied`.
        """
        result: list[ServedProxy] = []
        async with self._lock:
            for config in configs:
                existing = self.proxies.get(config.name)
                if existing is not None:
                    same_listen = config.listen in (existing.listen, existing.requested_listen)
                    if same_listen and config.upstream == existing.upstream:
                        result.append(existing)
                        continue
                    existing.stop()
                    del self.proxies[config.name]
                try:
                    proxy = await self._start_new(config)
                except ApiError as exc:
                    raise PopulateError(exc, result) from exc
                result.append(proxy)
                log.info("proxy populated: %s listen=%s upstream=%s enabled=%s",
                         proxy.name, proxy.listen, proxy.upstream, proxy.enabled)
        return result

    async def reset(self) -> None:
        async with self._lock:
            for proxy in self.proxies.values():
                if not proxy.enabled:
                    await proxy.start()
                proxy.remove_all_toxics()
        log.info("reset: all proxies enabled, all toxics removed")

    async def close(self) -> None:
        async with self._lock:
            for proxy in self.proxies.values():
                proxy.stop()

    async def _start_new(self, config: ProxyConfig) -> ServedProxy:
        proxy = ServedProxy(config.name, config.listen, config.upstream)
        if config.enabled:
            await proxy.start()
        self.proxies[config.name] = proxy
        return proxy

    # -- toxics --------------------------------------------------------------

    def add_toxic(self, proxy_name: str, spec: ToxicSpec) -> ToxicSpec:
        proxy = self.get(proxy_name)
        if spec.name in proxy.toxics:
            raise ApiError(errors.TOXIC_ALREADY_EXISTS, 409)
        proxy.add_toxic(spec)
        log.info("toxic added: %s/%s type=%s stream=%s toxicity=%s attributes=%s",
                 proxy_name, spec.name, spec.type, spec.stream, spec.toxicity,
                 spec.toxic.attributes)
        return spec

    def get_toxic(self, proxy_name: str, toxic_name: str) -> ToxicSpec:
        spec = self.get(proxy_name).toxics.get(toxic_name)
        if spec is None:
            raise errors.toxic_not_found()
        return spec

    def update_toxic(self, proxy_name: str, spec: ToxicSpec) -> ToxicSpec:
        self.get(proxy_name).update_toxic(spec)
        log.info("toxic updated: %s/%s toxicity=%s attributes=%s",
                 proxy_name, spec.name, spec.toxicity, spec.toxic.attributes)
        return spec

    def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        proxy = self.get(proxy_name)
        if toxic_name not in proxy.toxics:
            raise errors.toxic_not_found()
        proxy.remove_toxic(toxic_name)
        log.info("toxic removed: %s/%s", proxy_name, toxic_name)


class PopulateError(Exception):
    def __init__(self, error: ApiError, applied: list[ServedProxy]) -> None:
        super().__init__(error.message)
        self.error = error
        self.applied = applied
