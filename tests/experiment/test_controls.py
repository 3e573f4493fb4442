"""The control cell of each fixed matrix row, end to end: the wrong configuration with its
fault journaled but not applied passes the criterion aimed at its mechanism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cachechaos.store.rundir import read_jsonl

REPO = Path(__file__).resolve().parents[2]

# row, its wrong configuration
ROWS = [("cache-aside-race", "delete"), ("invalidation-delay", "events-only"), ("cold-deploy", "no-warmup")]


@pytest.mark.slow
@pytest.mark.parametrize(("row", "wrong"), ROWS)
def test_the_wrong_configuration_passes_without_its_fault(tmp_path: Path, row: str, wrong: str) -> None:
    result = subprocess.run([sys.executable, "-m", "cachechaos", "run", f"experiments/{row}.yaml", "--variant", wrong,
                             "--control", "--reports-dir", str(tmp_path), "--no-live"],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    [run_dir] = [d for d in tmp_path.iterdir() if d.is_dir()]
    assert run_dir.name.startswith(f"{row}-{wrong}-control-")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["cell"] == "control" and summary["expect"] == "pass", result.stdout + result.stderr
    named = next(v for v in summary["verdicts"] if v["name"] == summary["detects"])
    assert named["passed"] and named["measured"] is not None, named
    # The faults were journaled at their instants (time-anchored criteria find them) but not applied.
    edges = [e for e in read_jsonl(run_dir / "journal.jsonl") if e["event"] in ("inject", "heal")]
    assert edges and all(e["params"]["dry"] and e["details"] == {"dry": True} for e in edges)
