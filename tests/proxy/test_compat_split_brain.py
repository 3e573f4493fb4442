"""The split-brain experiment against a fault proxy that answers as Toxiproxy 2.1.4.

The partition fault cuts links by updating proxies, the request 2.1.4 only
routes as POST; before the client spoke that subset, both variants ended in
ERROR on such a server. Each variant is a full experiment run (slow).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cachechaos.store.rundir import read_jsonl

REPO = Path(__file__).resolve().parents[2]


def _old_api_copy(tmp_path: Path) -> Path:
    spec = yaml.safe_load((REPO / "experiments" / "split-brain.yaml").read_text())
    spec["target"].setdefault("overrides", {})["proxy"] = {"compat": "2.1"}
    path = tmp_path / "split-brain-toxiproxy-2.1.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.slow
@pytest.mark.parametrize(("variant", "code"), [("unguarded", 1), ("guarded", 0)])
def test_split_brain_verdicts_through_the_2_1_api(tmp_path: Path, variant: str, code: int) -> None:
    reports = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "cachechaos", "run", str(_old_api_copy(tmp_path)), "--variant", variant,
         "--reports-dir", str(reports), "--no-live"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    (run_dir,) = [d for d in reports.iterdir() if d.is_dir()]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert result.returncode == code, result.stdout + result.stderr
    lost = next(v for v in summary["verdicts"] if v["check"] == "lost_writes")
    if variant == "unguarded":
        assert summary["status"] == "failed" and lost["measured"] > 0.02, lost
    else:
        assert summary["status"] == "passed" and lost["measured"] <= 0.02, lost

    run = json.loads((run_dir / "run.json").read_text())
    assert run["topology"]["proxy"] == {"binary": "builtin", "compat": "2.1"}
    edges = [(e["event"], e["type"], e["ok"]) for e in read_jsonl(run_dir / "journal.jsonl") if e["event"] in ("inject", "heal")]
    assert edges == [("inject", "partition", True), ("heal", "partition", True)]
    (proxy_log,) = run_dir.rglob("toxiproxy.log")
    log = proxy_log.read_text()
    assert "as Toxiproxy 2.1.4 (compat 2.1)" in log
    assert "no route for" not in log
