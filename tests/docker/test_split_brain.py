"""The split-brain row of the checklist on the docker runtime: the packaged experiment, the packaged
targets/docker.yaml, both variants. The primary is partitioned from the Sentinels, the replica and
half the backends (each backend has its own links through the proxy container); the unguarded
configuration loses acknowledged writes (the wrong configuration FAILs), the guarded one does not
(the right one PASSes), as on the local runtime.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from cachechaos.docker import labels
from cachechaos.docker.images import ImageSet
from cachechaos.store.rundir import read_jsonl


@pytest.mark.parametrize(("variant", "code"), [("unguarded", 1), ("guarded", 0)])
def test_split_brain_verdicts_on_docker(engine: docker.DockerClient, offline_images: ImageSet, tmp_path: Path,
                                        variant: str, code: int) -> None:
    reports = tmp_path / "reports"
    # Run from an empty directory: both files are the packaged ones.
    result = subprocess.run(
        [sys.executable, "-m", "cachechaos", "run", "experiments/split-brain.yaml", "--topology", "targets/docker.yaml",
         "--variant", variant, "--reports-dir", str(reports), "--no-live"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
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
    assert run["topology"]["kind"] == "docker"
    edges = [(e["event"], e["type"], e["ok"]) for e in read_jsonl(run_dir / "journal.jsonl") if e["event"] in ("inject", "heal")]
    assert edges == [("inject", "partition", True), ("heal", "partition", True)]
    # The run removed its containers and network on the way out.
    assert not engine.containers.list(ignore_removed=True, all=True, filters=labels.run_filter(run["docker"]["run_id"]))
