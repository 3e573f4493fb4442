"""The CI subset of the detection matrix, end to end: every wrong configuration FAILS, every right one PASSES."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_ci_subset_matrix_detects_every_wrong_configuration(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cachechaos", "gate", "experiments/ci-subset.yaml", "--matrix",
         "--reports-dir", str(tmp_path), "--no-live"],
        capture_output=True, text=True, timeout=900, cwd=REPO,
    )
    suite_dir = next(tmp_path.iterdir())
    summary = json.loads((suite_dir / "summary.json").read_text())
    table = {(r["experiment"], r["variant"]): (r["expect"], r["status"], r["detected"]) for r in summary["runs"]}
    assert table == {
        ("invalidation-delay", "ttl-long"): ("fail", "failed", True),
        ("invalidation-delay", "event"): ("pass", "passed", True),
        ("stampede", "unprotected"): ("fail", "failed", True),
        ("stampede", "protected"): ("pass", "passed", True),
        ("cache-aside-race", "delete"): ("fail", "failed", True),
        ("cache-aside-race", "lease"): ("pass", "passed", True),
    }, result.stdout + result.stderr
    assert result.returncode == 0
    assert (suite_dir / "index.html").exists() and (suite_dir / "junit.xml").exists()
    for row in summary["runs"]:
        assert (suite_dir / row["run_dir"] / "index.html").exists()
