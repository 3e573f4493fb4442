"""Kill trials (slow): the toolkit killed at random instants leaves no process and, after `cachechaos heal`,
no fault applied on nodes it does not own. tests/benchmarks/bench_kill_trials.py runs 50."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from cachechaos.runtime.local import LocalTopology
from tests.conftest import make_spec
from tests.hardening.kill_trials import assert_left_nothing, external_topology, external_trial, local_trial

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalTopology, Path]]:
    """A topology someone else runs, as far as the killed toolkit knows (kind: external)."""
    spec = make_spec(products=300, backends={"instances": 1, "config": {"strategy": "event"}},
                     redis={"down_after_ms": 60_000, "sentinels": 1, "quorum": 1})
    with LocalTopology(spec, tmp_path_factory.mktemp("owned")) as topo:
        yield topo, external_topology(topo, tmp_path_factory.mktemp("topology") / "external.yaml")


def test_sigkill_during_the_faults_leaves_them_until_heal(owned: tuple[LocalTopology, Path], tmp_path: Path) -> None:
    topo, topology = owned
    trial = external_trial(topo, topology, tmp_path, "SIGKILL", random.uniform(0.3, 2.0), after_inject=True)
    assert trial.exit_code == -9
    assert trial.orphans == []
    # A SIGKILL heals nothing: the faults are on the nodes until `heal` replays the journal.
    assert trial.left_before_heal, "the kill left nothing applied: the trial proves nothing"
    assert trial.left_after_heal == [], trial.heal_output
    assert "healed redis_config" in trial.heal_output and "healed latency" in trial.heal_output


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_a_kill_at_a_random_instant_leaves_nothing_after_heal(owned: tuple[LocalTopology, Path], tmp_path: Path,
                                                              sig: str) -> None:
    topo, topology = owned
    trial = external_trial(topo, topology, tmp_path, sig, random.uniform(0.5, 9.0))
    assert_left_nothing(trial)


def test_the_local_runtime_dies_with_a_killed_toolkit(tmp_path: Path) -> None:
    trial = local_trial(tmp_path, "SIGKILL", random.uniform(6.0, 12.0))
    assert trial.exit_code == -9
    assert trial.orphans == [], trial.orphans
