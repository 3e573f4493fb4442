"""The fault proxy node: `toxiproxy-server` when found, else the built-in compatible server."""

from __future__ import annotations

from pathlib import Path

from cachechaos.proxy.client import ToxiproxyClient
from cachechaos.runtime.binaries import Binary, builtin_proxy_argv
from cachechaos.runtime.node import Node


class FaultProxyNode(Node):
    kind = "toxiproxy"

    def __init__(
        self, name: str, host: str, port: int, node_dir: Path, binary: Binary, compat: str | None = None
    ) -> None:
        super().__init__(name, host, port, node_dir)
        self.binary = binary
        self.compat = compat  # an older Toxiproxy API for the built-in proxy to answer as

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def argv(self) -> list[str]:
        if self.binary.is_builtin:
            return builtin_proxy_argv(self.address, self.compat)
        return [self.binary.path, "-host", self.host, "-port", str(self.port)]

    def client(self, timeout: float = 5.0) -> ToxiproxyClient:
        return ToxiproxyClient(self.api_url, timeout=timeout)

    def ready(self) -> bool:
        with self.client(timeout=1.0) as client:
            return bool(client.version())
