"""From a built wheel in fresh virtual environments, as a new user or a CI job would install it.

Slow: each test makes a virtual environment, installs the wheel with its dependencies and runs the
stampede experiment (a real topology, ~30 s) in an empty directory, away from the checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cachechaos.checklist import init_project

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, timeout=300)
    (built,) = out.glob("cachechaos-*.whl")
    return built


def fresh_venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)
    return where / "bin"


def venv_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a shell in which the venv is first on PATH and the checkout is nowhere."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "GITHUB_STEP_SUMMARY")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(bin_dir.parent), **extra)
    return env


def sh(command: str, cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    # GitHub runs `run:` steps with `bash -e -o pipefail`; GitLab runs script lines in one shell that stops at an error.
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    bin_dir = fresh_venv(tmp_path_factory.mktemp("venv") / "venv")
    subprocess.run([str(bin_dir / "pip"), "install", "--quiet", str(wheel)], check=True, timeout=600)
    yield bin_dir


def test_gate_and_init_from_the_wheel_in_an_empty_directory(installed: Path, tmp_path: Path) -> None:
    env = venv_env(installed)
    where = sh("command -v cachechaos && python -c 'import cachechaos; print(cachechaos.__file__)'", tmp_path, env)
    assert where.stdout.splitlines()[0] == str(installed / "cachechaos"), where.stdout
    assert str(REPO) not in where.stdout, "the test must use the installed package, not the checkout"

    gate = sh("cachechaos gate --only stampede --no-live", tmp_path, env)
    assert gate.returncode == 0, gate.stdout[-3000:] + gate.stderr[-3000:]
    assert "suite checklist" in gate.stdout and "stampede" in gate.stdout and "PASS" in gate.stdout

    init = sh("cachechaos init demo && cachechaos gate demo/experiments/checklist.yaml --only stampede --no-live",
              tmp_path, env)
    assert init.returncode == 0, init.stdout[-3000:] + init.stderr[-3000:]
    assert (tmp_path / "demo" / ".github" / "workflows" / "cachechaos.yml").is_file()
    suites = sorted((tmp_path / "reports").glob("suite-checklist-*"))
    assert len(suites) == 2 and all((s / "junit.xml").is_file() and (s / "index.html").is_file() for s in suites)
    version = sh("python -m cachechaos --version", tmp_path, env)
    assert version.returncode == 0 and "cachechaos, version" in version.stdout


def recipe_steps(kind: str, recipe: dict[str, object]) -> tuple[list[str], dict[str, str], list[str]]:
    """The shell commands of a recipe in order, its environment, and the paths its publishing steps read."""
    if kind == "github":
        (job,) = recipe["jobs"].values()
        commands = [step["run"] for step in job["steps"] if "run" in step]
        published = [step["with"]["report_paths"] if "report_paths" in step["with"] else step["with"]["path"]
                     for step in job["steps"] if "uses" in step and "with" in step and "python-version" not in step["with"]]
        return commands, dict(job.get("env", {})), published
    job = recipe["cachechaos-gate"]
    commands = [*job["before_script"], *job["script"]]
    artifacts = job["artifacts"]
    # after_script runs whatever the result; it is checked separately below.
    return commands, dict(job.get("variables", {})), [*artifacts["paths"], artifacts["reports"]["junit"]]


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_ci_recipe_runs_in_a_fresh_venv_from_the_wheel(kind: str, wheel: Path, tmp_path: Path) -> None:
    # The user's repository, as `cachechaos init` writes it; the recipe is read from there.
    repo = tmp_path / "repo"
    written = init_project(repo, ci=kind)
    recipe_file = next(p for p in written if p.suffix == ".yml")
    recipe = yaml.safe_load(recipe_file.read_text())
    commands, recipe_env, published = recipe_steps(kind, recipe)
    assert any("pip install" in c for c in commands) and any("cachechaos gate" in c for c in commands)

    bin_dir = fresh_venv(tmp_path / "venv")  # stands for setup-python / the python image: no cachechaos in it
    job_summary = tmp_path / "step_summary.md"
    env = venv_env(bin_dir, **{k: str(v) for k, v in recipe_env.items()})
    # What the test changes: install the wheel just built instead of the published package, and run one experiment.
    env.update(CACHECHAOS_PACKAGE=str(wheel), CACHECHAOS_GATE_ARGS="--only stampede")
    if kind == "github":
        env["GITHUB_STEP_SUMMARY"] = str(job_summary)
    for command in commands:
        result = sh(command, repo, env)
        assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"

    for pattern in published:
        matches = list(repo.glob(pattern.rstrip("/")))
        assert matches, f"the publishing step's {pattern!r} matches nothing"
    (suite_dir,) = (repo / "cachechaos-reports").iterdir()
    assert (suite_dir / "index.html").is_file() and (suite_dir / "junit.xml").is_file()
    if kind == "github":
        assert "stampede" in job_summary.read_text() and "PASSED" in job_summary.read_text()
    else:
        (after,) = recipe["cachechaos-gate"]["after_script"]
        shown = sh(after, repo, env)
        assert shown.returncode == 0 and "stampede" in shown.stdout
