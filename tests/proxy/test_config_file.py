"""The built-in proxy started the way Toxiproxy's image is (`-host`, `-port`, `-config FILE`), as the
example compose project starts it: the proxies of the file exist before the first API call."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from cachechaos.proxy.client import ToxiproxyClient

from .conftest import _die_with_parent, free_port, stop_process


def _start(tmp_path: Path, *flags: str) -> subprocess.Popen[bytes]:
    with open(tmp_path / "proxy.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "cachechaos.proxy", *flags], stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent)


def test_toxiproxy_flags_and_config_file_create_the_proxies(tmp_path: Path) -> None:
    api, listen = free_port(), free_port()
    with socket.create_server(("127.0.0.1", 0)) as upstream:
        config = tmp_path / "toxiproxy.json"
        config.write_text(json.dumps([{"name": "redis-1", "listen": f"127.0.0.1:{listen}",
                                       "upstream": f"127.0.0.1:{upstream.getsockname()[1]}", "enabled": True}]))
        proc = _start(tmp_path, "-host=127.0.0.1", f"-port={api}", f"-config={config}")
        try:
            with ToxiproxyClient(f"http://127.0.0.1:{api}") as client:
                client.wait_ready(15)
                proxies = client.proxies()
            assert list(proxies) == ["redis-1"] and proxies["redis-1"].listen == f"127.0.0.1:{listen}"
            with socket.create_connection(("127.0.0.1", listen), timeout=5):
                upstream.settimeout(5)
                upstream.accept()[0].close()  # the proxy dialled the upstream the file names
        finally:
            assert stop_process(proc) == 0


def test_a_bad_config_file_stops_the_proxy_naming_the_error(tmp_path: Path) -> None:
    config = tmp_path / "toxiproxy.json"
    config.write_text(json.dumps([{"name": "redis-1", "listen": "127.0.0.1:0"}]))
    proc = _start(tmp_path, "--listen", f"127.0.0.1:{free_port()}", "--config", str(config))
    assert proc.wait(15) == 1
    assert "missing required field: upstream" in (tmp_path / "proxy.log").read_text()
