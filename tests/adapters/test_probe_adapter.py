"""`cachechaos probe` of a topology with an adapter: the declared operations against the live service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.shop.conftest import probe_json

REPO = Path(__file__).resolve().parents[2]
APP = Path(__file__).resolve().parent / "app.py"
EXAMPLES = REPO / "targets" / "adapters"


def probe(tmp_path: Path, url: str, adapter: Any, *extra: str) -> tuple[int, dict[str, dict[str, Any]], dict[str, Any]]:
    topology = tmp_path / "topology.yaml"
    topology.write_text(yaml.safe_dump({"kind": "external", "backends": [url], "adapter": adapter}))
    result = subprocess.run([sys.executable, "-m", "cachechaos", "probe", str(topology), "--json", *extra],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    doc = probe_json(result.stdout)
    return result.returncode, {f["name"]: f for f in doc["findings"] if f["area"] == "adapter"}, doc


def test_probe_through_adapters(shop_factory: Any, tmp_path: Path) -> None:
    items = shop_factory("nocache", "--api", "items", script=APP)
    code, f, doc = probe(tmp_path, items.url, str(EXAMPLES / "items.yaml"))
    assert code == 0 and doc["conformant"], doc
    assert f["read"]["status"] == "ok" and f["write"]["status"] == "ok" and f["read back"]["status"] == "ok"
    assert f["layer header"]["status"] == "missing"  # nocache: X-Served-By is never sent
    checks = {c["name"]: c["possible"] for c in doc["capabilities"] if c["kind"] == "check"}
    assert checks["stale_read_rate"] and checks["lost_writes"]
    assert items.stats()["writes"] == 2

    # The caching service ignores the bypass header: the probe says the final reads wait instead.
    ttl = shop_factory("ttl", "--api", "items", "--ttl", "30", script=APP)
    code, f, doc = probe(tmp_path, ttl.url, str(EXAMPLES / "items.yaml"))
    assert code == 0 and f["read back"]["status"] == "warn" and "not written by the probe" in f["read back"]["detail"]
    assert f["layer header"]["status"] == "ok" and "l1" in f["layer header"]["detail"]

    things = shop_factory("nocache", "--api", "things", script=APP)
    code, f, doc = probe(tmp_path, things.url, str(EXAMPLES / "things.yaml"))
    assert code == 0 and "versions 2, 3" in f["write"]["detail"], f

    hook = {"python": "items_hook:ItemsAdapter", "path": str(EXAMPLES), "keys": {"first": 1, "last": 200}}
    code, f, doc = probe(tmp_path, items.url, hook, "--no-write")
    assert code == 0 and f["read"]["status"] == "ok" and f["write"]["status"] == "skipped"
    assert items.stats()["writes"] == 2  # --no-write wrote nothing

    # A read that finds no value where the adapter says fails the probe (exit 1) and says why.
    wrong = {**yaml.safe_load((EXAMPLES / "items.yaml").read_text()), "read": {
        "method": "GET", "url": "/api/items/{key}", "value": "data.price"}}
    code, f, doc = probe(tmp_path, items.url, wrong)
    assert code == 1 and not doc["conformant"] and "no value where the adapter says" in f["read"]["detail"]

    missing = {**hook, "python": "no_such_module:Adapter"}
    code, f, doc = probe(tmp_path, items.url, missing)
    assert code == 1 and "cannot import no_such_module" in f["load"]["detail"]
