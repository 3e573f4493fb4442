"""The pytest plugin, used as a user would: a test file with the `cachechaos` fixture, run by pytest
in a child process with the plugin loaded from its `pytest11` entry point. Real topologies, real load."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml


# A few seconds of catalogue reads. Without L1 every read crosses the proxied link to Redis, so
# 300 ms of latency on redis-1 holds each read until the backend's Redis timeout gives up and reads
# PostgreSQL (≈200 ms measured), far above the 100 ms bound: the failure's mechanism. Without the
# fault the p99 is a few ms.
def _experiment(name: str, slow_redis: bool) -> str:
    faults = [{"type": "latency", "link": "redis-1", "latency_ms": 300}] if slow_redis else []
    return yaml.safe_dump({
        "name": name, "purpose": "catalogue p99 under 100 ms",
        "target": {"overrides": {"postgres": {"products": 200, "categories": 10}}},
        "backend": {"strategy": "delete", "l1": {"enabled": False}},
        "traffic": {"users": 10, "shape": {"kind": "arrival", "rate_per_s": 40},
                    "mix": {"browse": 100, "write_price": 0, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0}},
        "phases": [{"name": "warm", "duration_s": 2}, {"name": "measured", "duration_s": 3, "faults": faults}],
        "criteria": [{"name": "catalogue p99", "check": "latency", "route": "catalog", "percentile": 99,
                      "phase": "measured", "max": 100}],
    }, sort_keys=False)


TESTS = '''
def test_fast_catalogue(cachechaos):
    cachechaos.run("fast.yaml").assert_passed()


def test_slow_redis(cachechaos):
    cachechaos.run("slow.yaml").assert_passed()
'''


def test_a_passing_and_a_failing_experiment_as_tests(tmp_path: Path) -> None:
    (tmp_path / "fast.yaml").write_text(_experiment("fast-catalogue", slow_redis=False))
    (tmp_path / "slow.yaml").write_text(_experiment("slow-redis", slow_redis=True))
    (tmp_path / "test_cache.py").write_text(TESTS)
    reports = tmp_path / "reports"
    # From another directory: the fixture finds experiments beside the test file.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path / "test_cache.py"), "-p", "no:cacheprovider", "-rA",
         "--cachechaos-reports", str(reports), "-o", "addopts=", "--timeout", "240"],
        capture_output=True, text=True, timeout=300, cwd="/",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # pytest: some tests failed
    assert re.search(r"PASSED .*test_cache.py::test_fast_catalogue", output), output
    assert re.search(r"FAILED .*test_cache.py::test_slow_redis", output), output
    failure = output[output.index("_ test_slow_redis _"):]
    # The verdict table (title, columns, the criterion and its FAIL) and the report path.
    assert "slow-redis: FAILED" in failure, failure
    for text in ("criterion", "required", "measured", "catalogue p99", "FAIL"):
        assert text in failure, text
    measured = re.search(r"catalogue p99\s*│[^│]*│\s*([\d.]+) ms", failure)
    assert measured and float(measured.group(1)) > 100, failure
    report = re.search(r"report: (\S+index\.html)", failure)
    assert report and Path(report.group(1)).is_file(), failure
    # Every run's report is listed at the end, the passing one included.
    summary = output[output.index("cachechaos reports"):]
    assert re.search(r"PASSED\s+\S*test_fast_catalogue: \S+index\.html", summary), summary
    assert re.search(r"FAILED\s+\S*test_slow_redis: \S+index\.html", summary), summary


def test_an_experiment_that_cannot_run_fails_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "test_bad.py").write_text('def test_missing(cachechaos):\n    cachechaos.run("nowhere.yaml").assert_passed()\n')
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path / "test_bad.py"), "-p", "no:cacheprovider", "-o", "addopts="],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "exited 2" in output and "nowhere.yaml" in output and "no summary.json" in output, output
