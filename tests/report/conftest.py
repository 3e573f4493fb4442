"""Synthetic run directories (built once per session) and one headless Chromium for the report tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cachechaos.report.html import build_run_report, build_suite_report
from tests.report.browser import INSTALL_HINT, Chromium, find_chromium
from tests.report.synthetic import make_case, make_suite

RUN_CASES = ("passing", "failing", "interrupted")
# Screenshots and PDFs a person can look at after the tests (git-ignored).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def report_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="session")
def run_dirs(report_root: Path) -> dict[str, Path]:
    """case -> run directory with its index.html built."""
    out: dict[str, Path] = {}
    for case in RUN_CASES:
        out[case] = make_case(report_root, case)
        build_run_report(out[case])
    return out


@pytest.fixture(scope="session")
def suite_dir(report_root: Path) -> Path:
    suite = make_suite(report_root)
    for child in suite.iterdir():
        if child.is_dir():
            build_run_report(child)
    build_suite_report(suite)
    return suite


@pytest.fixture(scope="session")
def browser() -> Iterator[Chromium]:
    executable = find_chromium()
    if executable is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    chromium = Chromium(executable)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
