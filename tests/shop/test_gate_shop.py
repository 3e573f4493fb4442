"""`cachechaos gate` on a plain HTTP service (the test shop): no Redis, PostgreSQL or proxy access.

The freshness-budget and load rows run; every other row is listed as not applicable with the line
to add, in summary.json, summary.md, the HTML report and JUnit (skipped). The nocache shop passes;
the ttl shop (3 s TTL, no invalidation) fails the freshness row at a 1 s budget. A row run on an
attached target runs once with its faults and once as a control with them dry.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml

from cachechaos.proxy.client import ToxiproxyClient
from cachechaos.runtime.ports import free_port
from cachechaos.runtime.process import ManagedProcess
from tests.shop.conftest import shop_topology

REPO = Path(__file__).resolve().parents[2]
# The stdlib shop answers in tens of ms on a busy 2-core machine: its service level, not the lecture's.
SLO = {"p99_ms": 500}


def _gate(tmp_path: Path, topology: Path, *flags: str, suite: Path | None = None) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]:
    reports = tmp_path / f"reports-{len(list(tmp_path.glob('reports-*')))}"
    argv = [sys.executable, "-m", "cachechaos", "gate", *([str(suite)] if suite else []), "--topology", str(topology),
            "--reports-dir", str(reports), "--no-live", *flags]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert "Traceback" not in result.stderr, result.stderr
    suite_dir = next(reports.iterdir()) if reports.exists() else tmp_path
    summary = json.loads((suite_dir / "summary.json").read_text()) if (suite_dir / "summary.json").exists() else {}
    return result, summary, suite_dir


def _table(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["experiment"]: row for row in summary["applicability"]}


def test_gate_on_a_plain_http_service(shop_factory: Any, tmp_path: Path) -> None:
    shop = shop_factory("nocache")
    topology = shop_topology(tmp_path / "shop.yaml", shop.url, cache={"max_ttl_s": 3, "freshness_budget_s": 1}, slo=SLO)
    result, summary, suite_dir = _gate(tmp_path, topology)
    assert result.returncode == 0, result.stdout + result.stderr
    table = _table(summary)
    ran = {name for name, row in table.items() if row["applicable"]}
    assert ran == {"freshness-budget", "load-slo"}
    assert len(table) == 14 and all(row["missing"] for name, row in table.items() if name not in ran)
    assert table["freshness-budget"]["fault"] == "passed" and table["freshness-budget"]["control"] is None  # no fault
    assert "toxiproxy.links.invalidation: <proxy name>" in table["invalidation-delay"]["missing"][0]
    runs = {r["experiment"]: r for r in summary["runs"]}
    assert runs["stampede"]["status"] == "not_applicable" and runs["stampede"]["exit_code"] == 0
    fresh = {v["name"].split(" [")[0]: v for v in runs["freshness-budget"]["verdicts"]}
    assert fresh["stale reads beyond the freshness budget < 1%"]["params"]["window_s"] == 1
    assert fresh["p99 < 100 ms"]["max"] == 500
    assert any("cart p99" in n for n in runs["load-slo"]["notes"])  # left out, and said so
    # Every report shows the table; JUnit skips each row that cannot run, with its reason.
    skipped = ET.parse(suite_dir / "junit.xml").getroot().findall(".//skipped")
    assert len(skipped) == 12 and all(s.get("message", "").startswith("not applicable: needs") for s in skipped)
    assert "| stampede | NOT APPLICABLE |" in (suite_dir / "summary.md").read_text()
    assert 'id="applicability-rows"' in (suite_dir / "index.html").read_text()

    # A row the target must run makes the gate fail when it cannot; so does --strict.
    result, summary, _ = _gate(tmp_path, topology, "--only", "stampede", "--require", "stampede")
    assert result.returncode == 1 and summary["runs"][0]["required"]
    result, _, _ = _gate(tmp_path, topology, "--only", "absent-ids", "--strict")
    assert result.returncode == 1
    # The matrix configures the sample backend: on an attached service it is bad input, said in a sentence.
    result, _, _ = _gate(tmp_path, topology, "--matrix")
    assert result.returncode == 2 and "--matrix" in result.stderr


def test_gate_fails_a_ttl_cache_without_invalidation_at_a_1s_budget(shop_factory: Any, tmp_path: Path) -> None:
    shop = shop_factory("ttl", "--ttl", "3")
    topology = shop_topology(tmp_path / "shop.yaml", shop.url, cache={"max_ttl_s": 3, "freshness_budget_s": 1}, slo=SLO)
    result, summary, _ = _gate(tmp_path, topology, "--only", "freshness-budget")
    assert result.returncode == 1, result.stdout + result.stderr
    (run,) = summary["runs"]
    stale = next(v for v in run["verdicts"] if v["check"] == "stale_read_rate")
    assert not stale["passed"] and stale["measured"] > 0.05
    assert next(v for v in run["verdicts"] if v["check"] == "lost_writes")["measured"] == 0


def _proxy_in_front(tmp_path: Path, shop_url: str) -> tuple[ManagedProcess, str, str]:
    """The built-in proxy between the load and the shop, as the shop's `database` link: a fault on it
    delays every request, the way a slow database would."""
    api, listen = free_port(), free_port()
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([{"name": "shop-db", "listen": f"127.0.0.1:{listen}",
                                   "upstream": shop_url.removeprefix("http://"), "enabled": True}]))
    process = ManagedProcess("proxy", [sys.executable, "-m", "cachechaos.proxy", "--listen", f"127.0.0.1:{api}",
                                       "--config", str(config)], tmp_path / "proxy.log")
    process.start()
    with ToxiproxyClient(f"http://127.0.0.1:{api}") as client:
        client.wait_ready(15)
    return process, f"http://127.0.0.1:{api}", f"http://127.0.0.1:{listen}"


def test_each_row_runs_with_its_faults_and_as_a_control(shop_factory: Any, tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    (tmp_path / "slow-db.yaml").write_text(yaml.safe_dump({
        "name": "slow-db", "purpose": "reads stay fast and fresh while the database link is slow",
        "traffic": {"users": 10, "shape": {"kind": "arrival", "rate_per_s": 100},
                    "mix": {"browse": 80, "write_price": 20, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0}},
        "phases": [{"name": "warm", "duration_s": 2},
                   {"name": "fault", "duration_s": 6,
                    "faults": [{"type": "latency", "link": "postgres", "latency_ms": 400}]}],
        "criteria": [{"name": "p99", "check": "latency", "percentile": 99, "phase": "fault", "max": 300},
                     {"name": "stale at 1 s", "check": "stale_read_rate", "window_s": 1, "max": 0.01}],
    }))
    suite.write_text(yaml.safe_dump({"name": "mine", "experiments": [{"path": "slow-db.yaml"}]}))
    outcomes = {}
    for mode in ("nocache", "ttl"):
        shop = shop_factory(mode, "--ttl", "3")
        (tmp_path / mode).mkdir()
        proxy, api, front = _proxy_in_front(tmp_path / mode, shop.url)
        try:
            topology = shop_topology(tmp_path / mode / "shop.yaml", front, toxiproxy={"url": api, "links": {"database": "shop-db"}},
                                     load={"rate_per_s": 40})
            result, summary, _ = _gate(tmp_path, topology, suite=suite)
        finally:
            proxy.stop()
        assert result.returncode == 1, result.stdout + result.stderr
        cells = {r["cell"]: r for r in summary["runs"]}
        assert set(cells) == {"fault", "control"}
        assert next(v for v in cells["control"]["verdicts"] if v["name"] == "p99")["passed"]  # the fault was dry
        assert not next(v for v in cells["fault"]["verdicts"] if v["name"] == "p99")["passed"]
        outcomes[mode] = _table(summary)["slow-db"]["finding"]
    # The nocache shop fails only with the fault; the ttl shop serves stale reads without it too.
    assert outcomes == {"nocache": "fails under the fault", "ttl": "fails without the fault"}
