"""`python -m cachechaos.proxy` and the click command."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cachechaos.proxy.cli import proxy
from cachechaos.proxy.client import ToxiproxyClient

from .conftest import free_port, start_proxy_process, stop_process


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_module_serves_logs_and_stops_cleanly(tmp_path: Path, sig: int) -> None:
    port = free_port()
    log = tmp_path / "proxy.log"
    proc = start_proxy_process(port, log)
    try:
        with ToxiproxyClient(f"http://127.0.0.1:{port}") as client:
            client.wait_ready(15)
            upstream = socket.create_server(("127.0.0.1", 0))
            created = client.create_proxy("p", f"127.0.0.1:{upstream.getsockname()[1]}")
            client.add_toxic("p", "latency", {"latency": 1})
            open_conn = socket.create_connection(("127.0.0.1", created.listen_port), timeout=5)
            upstream.accept()
    finally:
        code = stop_process(proc, sig)
    assert code == 0
    assert open_conn.recv(10) == b""  # open connections were closed on the way out
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", created.listen_port), timeout=2)
    lines = log.read_text().splitlines()
    assert any("proxy created: p" in line for line in lines)
    assert any("toxic added: p/latency_downstream" in line for line in lines)
    assert "Traceback" not in log.read_text()


def test_module_import_stays_light() -> None:
    code = "import sys, cachechaos.proxy.__main__; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_busy_api_port_exits_non_zero(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        proc = start_proxy_process(busy.getsockname()[1], tmp_path / "log")
        assert proc.wait(15) == 1
    assert "cannot listen" in (tmp_path / "log").read_text()


def test_cli_serve_has_help() -> None:
    result = CliRunner().invoke(proxy, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--listen HOST:PORT" in result.output
    assert "127.0.0.1:8474" in result.output
    assert "Address of the HTTP API" in result.output
