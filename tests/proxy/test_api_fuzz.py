"""Generated API input: never a 5xx, a traceback or a hang; errors are 4xx JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cachechaos.proxy.client import ToxiproxyClient

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(["name", "upstream", "listen", "enabled", "type", "stream",
                               "toxicity", "attributes", "latency", "rate", "bytes"])
proxy_like = st.dictionaries(field_names, json_values, max_size=6)
paths = st.sampled_from([
    "/proxies", "/proxies/fz", "/proxies/fz/toxics", "/proxies/fz/toxics/latency_downstream",
    "/populate", "/reset", "/version", "/proxies/%00", "/proxies/fz/toxics/%2F..",
])
methods = st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT"])


@pytest.fixture(scope="module")
def http(proxy_api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proxy_api, timeout=5, trust_env=False) as client:
        yield client
        with ToxiproxyClient(proxy_api) as toxi:
            for name in toxi.proxies():
                toxi.delete_proxy(name)


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert body["status"] == response.status_code and isinstance(body["error"], str)


@given(method=methods, path=paths, body=json_values | proxy_like)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
def test_generated_json_requests(http: httpx.Client, method: str, path: str, body: object) -> None:
    # A fuzzed proxy must never listen anywhere but loopback.
    if isinstance(body, dict) and "listen" in body:
        body["listen"] = "127.0.0.1:0"
    if isinstance(body, list):
        body = [dict(b, listen="127.0.0.1:0") if isinstance(b, dict) else b for b in body]
    check(http.request(method, path, content=json.dumps(body).encode()))


@given(path=paths, body=st.binary(max_size=200))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
def test_generated_bytes(http: httpx.Client, path: str, body: bytes) -> None:
    response = http.post(path, content=body)
    check(response)
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError):
        if path in ("/proxies", "/populate"):
            assert response.status_code == 400
