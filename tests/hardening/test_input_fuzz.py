"""Bad input fuzzed: a few hundred mutated experiment, suite and topology files, each exits 0 or 2 with
file and line (and the field, when the file is YAML but not a valid model), never a traceback.

tests/benchmarks/bench_fuzz_inputs.py runs 10,000 cases and counts each outcome.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.hardening.input_fuzz import GOOD, NAMED, VALID, Verdict, cases, check_case, make_workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory.mktemp("fuzz"))


def test_mutated_files_exit_0_or_2_naming_file_and_line(workspace: Path) -> None:
    seen: Counter[str] = Counter()

    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(cases())
    def case(case: tuple[str, str, bytes]) -> None:
        verdict: Verdict = check_case(workspace, *case)
        seen[verdict.outcome] += 1
        assert verdict.outcome in GOOD, f"{case[0]} -> {verdict.outcome}: {verdict.detail}\n{case[2][:400]!r}"

    case()
    # The mutations reach both ends: files still valid, and field-level errors located.
    assert seen[VALID] > 0 and seen[NAMED] > 0, seen
