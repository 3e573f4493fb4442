"""The items API (targets/adapters/items.yaml) as a Python adapter: the hook for APIs a declaration cannot express.

    adapter:
      python: items_hook:ItemsAdapter
      path: adapters        # relative to the file that names the adapter
      keys: {first: 1, last: 200}

httpx works under the load workers' gevent (its sockets are the patched standard library ones).
"""

from __future__ import annotations

from typing import Any

import httpx

from cachechaos.adapters.hook import Read, Written

LAYERS = {"memory": "l1", "origin": "miss"}


class ItemsAdapter:
    def __init__(self, base_url: str, timeout_s: float = 2.0) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=timeout_s)

    def read(self, key: Any) -> Read:
        response = self.client.get(f"/api/items/{key}")
        if response.status_code != 200:
            return Read(status=response.status_code)
        price = response.json().get("data", {}).get("attributes", {}).get("price")
        return Read(value=price, layer=LAYERS.get(response.headers.get("x-served-by", "")))

    def write(self, key: Any, value: Any) -> Written:
        response = self.client.put(f"/api/items/{key}", json={"data": {"type": "item", "attributes": {"price": value}}})
        return Written(status=response.status_code)
