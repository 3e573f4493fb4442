"""The CI recipe that gates the repository's own compose project (github-actions-compose.yml): its
shell steps run in order, as the runner would, against the example project written by `init`.

GitHub's `if:` is honoured: after a failed step only the `always()` and `failure()` steps run. Run
twice: a gate that passes, and one that fails (split-brain with the example's Redis acknowledging
writes no replica has: CACHECHAOS_MIN_REPLICAS_TO_WRITE=0); the project must be gone after both, and
the reports the publishing steps name must exist.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest
import yaml

from cachechaos.checklist import init_project
from cachechaos.docker.compose import PROJECT_LABEL
from cachechaos.docker.images import ImageSet
from tests.docker.compose_project import IMAGE_VARIABLES, compose_command, free_port


def _steps(recipe: dict[str, object]) -> list[dict[str, str]]:
    job = recipe["jobs"]["gate"]  # type: ignore[index]
    return [s for s in job["steps"] if "run" in s]


def _run_job(repo: Path, env: dict[str, str], steps: list[dict[str, str]], log: list[str]) -> list[tuple[str, int]]:
    """Each step's name and exit code; after a failure only `always()` and `failure()` steps run.
    Each step's output goes to `log`, for the assertion messages."""
    ran: list[tuple[str, int]] = []
    failed = False
    for step in steps:
        condition = step.get("if", "success()")
        if failed and "always()" not in condition and "failure()" not in condition:
            continue
        if not failed and condition == "failure()":
            continue
        result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True,
                                timeout=600)
        ran.append((step.get("name", ""), result.returncode))
        log.append(f"--- {step.get('name')}: exit {result.returncode}\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
        failed = failed or result.returncode != 0
    return ran


# hot-key: a short row whose verdict is a count of Redis round trips, not a latency a shared machine moves;
# split-brain without min-replicas-to-write: writes the isolated primary acknowledged, lost on heal.
@pytest.mark.parametrize(("gate_args", "gate_code"), [("--only hot-key", 0), ("--only split-brain", 1)])
def test_the_compose_recipe_brings_the_project_up_gates_it_and_always_takes_it_down(
        gate_args: str, gate_code: int, engine: docker.DockerClient, offline_images: ImageSet, tmp_path: Path) -> None:
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    repo = tmp_path / "repo"
    written = init_project(repo, ci="github-compose")
    recipe = yaml.safe_load(next(p for p in written if p.suffix == ".yml" and ".github" in p.parts).read_text())
    job_env = recipe["jobs"]["gate"]["env"]
    # Installing cachechaos and building images are the runner's; this test's venv and images stand for them.
    steps = [s for s in _steps(recipe) if s["name"] not in ("Install cachechaos", "Images of the example project")]
    assert [s["name"] for s in steps] == ["Bring the project up", "Run the gate", "Service logs", "Take the project down"]
    project = f"ccci{os.getpid()}{gate_code}"
    env = {**os.environ, **{k: str(v) for k, v in job_env.items()},
           **{variable: offline_images.toolkit for variable in IMAGE_VARIABLES},
           "CACHECHAOS_COMPOSE": " ".join(command), "COMPOSE_PROJECT_NAME": project,
           "CACHECHAOS_GATE_ARGS": f"{job_env['CACHECHAOS_GATE_ARGS']} {gate_args}",
           "CACHECHAOS_BACKEND_1_PORT": str(free_port()), "CACHECHAOS_BACKEND_2_PORT": str(free_port()),
           "CACHECHAOS_MIN_REPLICAS_TO_WRITE": "1" if gate_code == 0 else "0",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # this venv's cachechaos
    log: list[str] = []
    try:
        ran = dict(_run_job(repo, env, steps, log))
    finally:
        left = engine.containers.list(ignore_removed=True, all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
        for container in left:  # only if the recipe's own take-down failed: the test must not leak them
            container.remove(force=True, v=True)
        # A step cut short (a timeout) never reaches the take-down: its network stayed behind once.
        for network in engine.networks.list(filters={"label": f"{PROJECT_LABEL}={project}"}):
            network.remove()
    assert ran["Bring the project up"] == 0
    assert ran["Run the gate"] == gate_code, "\n".join(log)
    assert ("Service logs" in ran) == (gate_code != 0)
    assert ran["Take the project down"] == 0
    assert not left, f"the recipe left {[c.name for c in left]}"
    (suite_dir,) = (repo / "cachechaos-reports").iterdir()
    assert (suite_dir / "junit.xml").is_file() and (suite_dir / "index.html").is_file()
