"""One Redis admin over addresses (cachechaos.runtime.redis_admin), against a real redis-server with a
password and a real Sentinel that names the primary by another address than admin's."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cachechaos.runtime.ports import free_port
from cachechaos.runtime.process import wait_until
from cachechaos.runtime.redis_admin import RedisNodesAdmin
from cachechaos.runtime.target import NotControllable

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
SECRET = "s3cret-admin"


@pytest.fixture
def node_and_sentinel(tmp_path: Path) -> Iterator[tuple[int, int]]:
    port, sentinel_port = free_port(), free_port()
    sentinel_conf = tmp_path / "sentinel.conf"
    sentinel_conf.write_text(f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\nrequirepass {SECRET}\n"
                             f"sentinel monitor m 127.0.0.1 {port} 1\nsentinel auth-pass m {SECRET}\n")
    procs = [subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--requirepass", SECRET, "--dir", str(tmp_path)], stdout=subprocess.DEVNULL),
             subprocess.Popen(["redis-server", str(sentinel_conf), "--sentinel"], stdout=subprocess.DEVNULL)]
    try:
        yield port, sentinel_port
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def test_admin_reaches_nodes_by_address_with_credentials_and_names_the_primary(node_and_sentinel: tuple[int, int]) -> None:
    port, sentinel_port = node_and_sentinel
    admin = RedisNodesAdmin({"cache-1": f"127.0.0.1:{port}"}, [f"127.0.0.1:{sentinel_port}"], "m",
                            password=SECRET, sentinel_password=SECRET)
    wait_until(lambda: admin.primary_name() == "cache-1", 15, "the Sentinel to name the primary")
    with admin.client("cache-1") as client:
        assert client.ping() and client.info("server")["tcp_port"] == port
    assert admin.names() == ["cache-1"]
    assert admin.primary_address() == f"127.0.0.1:{port}"
    # The Sentinel names the node by an address admin does not use (a proxy's): `announced` maps it back.
    proxied = RedisNodesAdmin({"cache-1": "127.0.0.1:1"}, [f"127.0.0.1:{sentinel_port}"], "m",
                              announced={"cache-1": f"127.0.0.1:{port}"}, sentinel_password=SECRET)
    assert proxied.primary_name() == "cache-1"
    assert RedisNodesAdmin({"cache-1": "127.0.0.1:1"}, [f"127.0.0.1:{sentinel_port}"], "m",
                           sentinel_password=SECRET).primary_name() is None  # named, but not one of its nodes
    # Without the password the node refuses; without Sentinels the first node is the primary.
    with RedisNodesAdmin({"cache-1": f"127.0.0.1:{port}"}).client("cache-1") as client, \
            pytest.raises(redis.AuthenticationError):
        client.ping()
    assert RedisNodesAdmin({"a": "127.0.0.1:1", "b": "127.0.0.1:2"}).primary_name() == "a"
    with pytest.raises(NotControllable, match="no Redis node 'cache-2'"):
        admin.client("cache-2")
    # No Sentinel answering: no primary, no exception.
    assert RedisNodesAdmin({"cache-1": f"127.0.0.1:{port}"}, [f"127.0.0.1:{free_port()}"], "m").primary_name() is None
