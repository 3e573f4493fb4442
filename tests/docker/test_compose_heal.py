"""Heals that outlive the toolkit on a compose project: its pause, disconnect and kill of containers are
journaled (how to undo them) before they act, `cachechaos heal` undoes what a killed toolkit left, and
kill trials of `cachechaos run` against the example project leave nothing after heal.

The example project (targets/compose) is brought up for this module alone; the state checked is
the engine's (container status, networks), not the journal's.
"""

from __future__ import annotations

import random
from pathlib import Path

import docker
import pytest
from click.testing import CliRunner

from cachechaos.cli import cli
from cachechaos.docker import container_heal
from cachechaos.docker.compose import ComposeTarget
from cachechaos.experiment.scheduler import FaultScheduler
from cachechaos.faults import FaultContext
from cachechaos.faults.container_faults import DisconnectParams, PauseParams
from cachechaos.faults.process_faults import KillParams
from cachechaos.heal import read_journal, unhealed
from cachechaos.runtime.compose_spec import ComposeTopologySpec
from cachechaos.store.journal import Journal
from tests.docker.compose_project import example_spec
from tests.hardening.kill_trials import (
    assert_left_nothing,
    compose_now,
    compose_state,
    compose_trial,
    container_differences,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def spec(project: str) -> ComposeTopologySpec:
    return example_spec(project, final_reads={"quiescence_s": 0})


def _abandoned_run(run_dir: Path, spec: ComposeTopologySpec) -> None:
    """Pause, disconnect and kill through the real scheduler, then stop as a SIGKILL would: no heal, no close()
    (close() would put the containers back: the net under a heal that failed, which a SIGKILL skips too)."""
    run_dir.mkdir(parents=True)
    target = ComposeTarget(spec, allow_destructive=True)
    journal = Journal(run_dir / "journal.jsonl")
    scheduler = FaultScheduler(FaultContext(target, allow_destructive=True), journal)
    scheduler.inject(PauseParams(type="pause", node="sentinel-3"), "fault")
    scheduler.inject(DisconnectParams(type="disconnect", node="replica"), "fault")
    scheduler.inject(KillParams(type="kill", node="sentinel-2"), "fault")
    journal.close()
    target.client.close()


def test_heal_undoes_what_a_killed_toolkit_left_on_the_project(engine: docker.DockerClient, spec: ComposeTopologySpec,
                                                                tmp_path: Path) -> None:
    before = compose_state(engine, spec)
    run_dir = tmp_path / "reports" / "run-1"
    _abandoned_run(run_dir, spec)
    left = container_differences(engine, before, compose_now(engine, list(before)))
    changes = [line.split(" ", 1)[1].split(" ")[0] for line in left]  # "<container> paused", "<container> off <net>"
    assert changes.count("paused") == 1 and changes.count("exited") == 1 and "off" in changes, left

    # Each fault's steps are in the journal before its inject edge: a kill between the two still leaves them.
    entries = read_journal(run_dir)
    for fault in ("pause", "disconnect", "kill"):
        kinds = [e["event"] for e in entries if e.get("fault") == fault]
        assert kinds[0] == "heal_step" and kinds[-1] == "inject", (fault, kinds)
    actions = {fault: [s["action"] for s in steps] for fault, steps in unhealed(entries).items()}
    assert actions == {"pause": [container_heal.UNPAUSE], "disconnect": [container_heal.RECONNECT],
                       "kill": [container_heal.START]}

    first = CliRunner().invoke(cli, ["heal", str(run_dir)])
    assert first.exit_code == 0, first.output
    assert container_differences(engine, before, compose_now(engine, list(before))) == []
    for said in ("healed pause", ": unpaused", "healed disconnect", ": reconnected to", "healed kill", ": started"):
        assert said in first.output, first.output
    second = CliRunner().invoke(cli, ["heal", str(run_dir)])
    assert second.exit_code == 0 and "nothing to heal" in second.output, second.output
    compose_state(engine, spec)  # every service answers again before the next test


def test_a_sigkill_during_the_faults_leaves_them_until_heal(engine: docker.DockerClient, spec: ComposeTopologySpec,
                                                            tmp_path: Path) -> None:
    trial = compose_trial(engine, spec, tmp_path, "SIGKILL", random.uniform(0.3, 2.0), after_inject=True)
    assert trial.exit_code == -9
    assert trial.orphans == []
    assert trial.left_before_heal, "the kill left nothing applied: the trial proves nothing"
    assert trial.left_after_heal == [], trial.heal_output


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_a_kill_at_a_random_instant_leaves_nothing_after_heal(engine: docker.DockerClient, spec: ComposeTopologySpec,
                                                              tmp_path: Path, sig: str) -> None:
    trial = compose_trial(engine, spec, tmp_path, sig, random.uniform(2.0, 11.0))
    assert_left_nothing(trial)
