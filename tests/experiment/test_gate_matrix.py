"""The CI subset of the detection matrix, end to end: every wrong configuration FAILS through its named
criterion, every right one PASSES, and every control (the wrong one without its fault) PASSES."""

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
    table = {(r["experiment"], r["variant"], r["cell"]): (r["expect"], r["status"], r["detected"]) for r in summary["runs"]}
    assert table == {
        ("invalidation-delay", "events-only", "fault"): ("fail", "failed", True),
        ("invalidation-delay", "bounded-l1", "fault"): ("pass", "passed", True),
        ("invalidation-delay", "events-only", "control"): ("pass", "passed", True),
        ("stampede", "unprotected", "fault"): ("fail", "failed", True),
        ("stampede", "protected", "fault"): ("pass", "passed", True),
        ("stampede", "unprotected", "control"): ("pass", "passed", True),
    }, result.stdout + result.stderr
    assert result.returncode == 0
    assert [row["ok"] for row in summary["rows"]] == [True, True]
    assert (suite_dir / "index.html").exists() and (suite_dir / "junit.xml").exists()
    for row in summary["runs"]:
        assert (suite_dir / row["run_dir"] / "index.html").exists()
