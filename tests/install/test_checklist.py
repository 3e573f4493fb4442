"""The checklist shipped in the package: path fallback, default suite, `init`, `list`, `python -m`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cachechaos.checklist import (
    EXPERIMENTS_DIR,
    PACKAGED_SUITE,
    InitError,
    default_suite,
    init_project,
    packaged_experiments,
    resolve,
)
from cachechaos.experiment.model import load_experiment, load_suite


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cachechaos", *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_readme_paths_name_packaged_files_only_when_the_directory_has_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve(Path("experiments/stampede.yaml")) == EXPERIMENTS_DIR / "stampede.yaml"
    assert resolve(Path("targets/local.yaml")).is_file()
    assert resolve(Path("experiments/nope.yaml")) == Path("experiments/nope.yaml")
    assert resolve(Path("stampede.yaml")) == Path("stampede.yaml")  # only the README's two folders fall back
    assert default_suite() == PACKAGED_SUITE
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "stampede.yaml").write_text("mine")
    (tmp_path / "experiments" / "checklist.yaml").write_text("mine")
    assert resolve(Path("experiments/stampede.yaml")) == Path("experiments/stampede.yaml")
    assert default_suite() == Path("experiments/checklist.yaml")


def test_init_copies_experiments_topology_and_recipe_and_refuses_to_overwrite(tmp_path: Path) -> None:
    written = init_project(tmp_path / "demo", ci="gitlab")
    names = {p.relative_to(tmp_path / "demo").as_posix() for p in written}
    assert {"experiments/checklist.yaml", "experiments/stampede.yaml", "targets/local.yaml", ".gitlab-ci.yml"} <= names
    assert len([n for n in names if n.startswith("experiments/")]) == len(list(EXPERIMENTS_DIR.glob("*.yaml")))
    # The copy is a working suite: every entry loads from the new place.
    suite_file = tmp_path / "demo" / "experiments" / "checklist.yaml"
    for entry in load_suite(suite_file).experiments:
        load_experiment(suite_file.parent / entry.path)
    (tmp_path / "demo" / "targets" / "local.yaml").write_text("edited")
    with pytest.raises(InitError, match=r"local\.yaml"):
        init_project(tmp_path / "demo", ci="none")
    assert (tmp_path / "demo" / "targets" / "local.yaml").read_text() == "edited"
    init_project(tmp_path / "demo", ci="github", force=True)
    assert (tmp_path / "demo" / "targets" / "local.yaml").read_text() != "edited"
    recipe = yaml.safe_load((tmp_path / "demo" / ".github" / "workflows" / "cachechaos.yml").read_text())
    assert "gate" in recipe["jobs"]


def test_init_and_list_on_the_command_line(tmp_path: Path) -> None:
    result = cli("init", "demo", "--ci", "none", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo" / "experiments" / "checklist.yaml").is_file()
    assert not (tmp_path / "demo" / ".github").exists()
    again = cli("init", "demo", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    listed = cli("list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    for exp in packaged_experiments():
        assert exp.name in listed.stdout
    stampede = next(e for e in packaged_experiments() if e.name == "stampede")
    assert stampede.variants == {"unprotected": "fail", "protected": "pass"}
    assert "ci-subset" in stampede.suites and stampede.purpose


def test_gate_outside_the_repository_finds_the_packaged_suite_and_names_a_missing_one(tmp_path: Path) -> None:
    missing = cli("gate", "nowhere.yaml", cwd=tmp_path)
    assert missing.returncode == 2 and "nowhere.yaml: no such suite file" in missing.stderr
    # The packaged suite was found and loaded (it lists its experiments); a misspelt --only runs
    # nothing, which is bad input rather than a gate that passes.
    result = cli("gate", "--only", "stampeed", "--reports-dir", str(tmp_path / "r"), "--no-live", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "stampeed: no such experiment in suite checklist" in result.stderr and "stock-failover" in result.stderr
    assert not (tmp_path / "r").exists()


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "cachechaos", "--version"], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path, env=env)
    assert result.returncode == 0 and result.stdout.startswith("cachechaos, version ")
