"""The built-in proxy's API fuzzed from its OpenAPI description (cachechaos/proxy/openapi.yaml) with
schemathesis: no server error, every answer conforms to the description (status, content type,
body schema). The hand-written fuzz and the toxic churn under 200 connections are in tests/proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection

import cachechaos.proxy
from cachechaos.proxy.client import ToxiproxyClient

SPEC = Path(cachechaos.proxy.__file__).resolve().parent / "openapi.yaml"
schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture(scope="module", autouse=True)
def known_proxy(proxy_api: str) -> Iterator[None]:
    """A proxy named as the generated paths often name one, so that not every case is a 404."""
    with ToxiproxyClient(proxy_api) as client:
        client.create_proxy("0", upstream="127.0.0.1:9")
        yield
        for name in client.proxies():
            client.delete_proxy(name)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_description(case: schemathesis.Case, proxy_api: str) -> None:
    # The description is narrower than the server on purpose (loopback only, short names: see its
    # header), so a request outside it that the server accepts is not a finding; every other check runs.
    case.call_and_validate(base_url=proxy_api, excluded_checks=[negative_data_rejection])
