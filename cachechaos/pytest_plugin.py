"""pytest plugin (entry point `pytest11`): the `cachechaos` fixture runs an experiment as a test.

    def test_checkout_survives_failover(cachechaos):
        cachechaos.run("experiments/stock-failover.yaml").assert_passed()

Each run is `cachechaos run` in a child process, as on the command line: Locust and the servers
it starts stay out of the test process, and a run's exit code means what it means in CI. A
failure message carries the verdict table and the path of the HTML report.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from cachechaos.store.files import read_json
from cachechaos.store.rundir import SUMMARY_FILE

_REPORTS = pytest.StashKey[list[tuple[str, str, Path]]]()


@dataclass
class ExperimentResult:
    """What one `cachechaos run` left: its exit code, summary and report."""

    experiment: Path
    variant: str | None
    exit_code: int
    run_dir: Path | None
    summary: dict[str, Any] = field(default_factory=dict)
    output: str = ""  # the run's stderr: progress lines, and the reason when it could not run

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    @property
    def report(self) -> Path | None:
        return self.run_dir / "index.html" if self.run_dir else None

    def verdict_table(self) -> str:
        """The verdict table as plain text (what the CLI prints, without colour)."""
        from cachechaos.report.verdict_table import verdict_table

        if not self.summary:
            return "(no summary.json: the run stopped before its checks)"
        buffer = io.StringIO()
        Console(file=buffer, width=120, no_color=True, force_terminal=False).print(verdict_table(self.summary))
        return buffer.getvalue().rstrip()

    def failure_message(self) -> str:
        name = f"{self.experiment}" + (f" [{self.variant}]" if self.variant else "")
        lines = [f"cachechaos run {name} exited {self.exit_code} ({self.summary.get('status', 'no verdict')})",
                 self.verdict_table()]
        if self.summary.get("error"):
            lines.append(f"error: {self.summary['error']}")
        if not self.summary:
            lines.append("\n".join(self.output.splitlines()[-20:]))
        lines.append(f"report: {self.report or '(none)'}")
        return "\n".join(lines)

    def assert_passed(self) -> None:
        """Fail the test unless every criterion held (exit code 0)."""
        if not self.passed:
            pytest.fail(self.failure_message(), pytrace=False)


class CachechaosRunner:
    """The fixture's value: runs experiments into one reports directory per test."""

    def __init__(self, reports_dir: Path, test_dir: Path, recorded: list[tuple[str, str, Path]], nodeid: str) -> None:
        self.reports_dir = reports_dir
        self.test_dir = test_dir
        self._recorded = recorded
        self._nodeid = nodeid
        self._count = 0

    def locate(self, experiment: str | os.PathLike[str]) -> Path:
        """The working directory's file, else the test file's neighbour, else the packaged experiment."""
        from cachechaos.checklist import resolve

        path = Path(experiment)
        if not path.is_absolute() and not path.exists() and (self.test_dir / path).exists():
            return self.test_dir / path
        return resolve(path)

    def run(self, experiment: str | os.PathLike[str], variant: str | None = None, *, scale: float | None = None,
            topology: str | os.PathLike[str] | None = None, allow_destructive: bool = False,
            timeout: float | None = None) -> ExperimentResult:
        """Run one experiment (optionally one variant) and return its result; call `.assert_passed()` on it."""
        path = self.locate(experiment)
        self._count += 1
        reports = self.reports_dir / f"{self._count}-{path.stem}"
        reports.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "cachechaos", "run", str(path), "--no-live", "--reports-dir", str(reports)]
        if variant is not None:
            argv += ["--variant", variant]
        if scale is not None:
            argv += ["--scale", str(scale)]
        if topology is not None:
            argv += ["--topology", str(topology)]
        if allow_destructive:
            argv.append("--allow-destructive")
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        run_dirs = sorted(d for d in reports.iterdir() if d.is_dir())
        run_dir = run_dirs[-1] if run_dirs else None
        summary = read_json(run_dir / SUMMARY_FILE) if run_dir else {}
        result = ExperimentResult(path, variant, proc.returncode, run_dir, summary, proc.stderr)
        status = summary.get("status", f"exit {proc.returncode}").upper()
        # Captured output: pytest shows it with a failure; the terminal summary lists every report.
        print(f"cachechaos: {path.name}{f' [{variant}]' if variant else ''} {status}; report {result.report}")
        if result.report is not None:
            self._recorded.append((self._nodeid, status, result.report))
        return result


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cachechaos")
    group.addoption("--cachechaos-reports", metavar="DIR", default=None,
                    help="where the cachechaos fixture's run directories go [default: pytest's temporary directory]")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REPORTS] = []


@pytest.fixture
def cachechaos(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> CachechaosRunner:
    """Run cachechaos experiments from a test: `cachechaos.run("x.yaml", variant=None).assert_passed()`."""
    option = request.config.getoption("--cachechaos-reports")
    if option:
        base = Path(option) / re.sub(r"[^\w.-]+", "_", request.node.name)[:80]
    else:
        base = tmp_path_factory.mktemp("cachechaos", numbered=True)
    test_dir = Path(str(request.node.path)).parent
    return CachechaosRunner(base.resolve(), test_dir, request.config.stash[_REPORTS], request.node.nodeid)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    recorded = config.stash.get(_REPORTS, [])
    if not recorded:
        return
    terminalreporter.section("cachechaos reports")
    for nodeid, status, report in recorded:
        terminalreporter.write_line(f"{status:<8} {nodeid}: {report}")
