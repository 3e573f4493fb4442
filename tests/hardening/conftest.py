"""Real servers for the hardening tests: the proxy tests' Redis and built-in proxy processes."""

from tests.proxy.conftest import proxy_api, redis_server, toxi

__all__ = ["proxy_api", "redis_server", "toxi"]
