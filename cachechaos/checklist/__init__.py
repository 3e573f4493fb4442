"""The production checklist: experiments, suites, topologies, CI recipes.

The experiments and topologies live in the repository's top-level `experiments/` and `targets/`
folders; the wheel carries copies of both inside this package (pyproject's hatch `force-include`).
`data_dir` finds them in either place, so a checkout, an editable install and an installed wheel
read the same files through one accessor.

`cachechaos gate` runs the packaged suite from any directory, `cachechaos init` copies these
files into a user's repository to edit, and `cachechaos list` describes them. Paths written the
way the README writes them (`experiments/stampede.yaml`, `targets/local.yaml`) name the
packaged file when the working directory has no such file, so the README's commands work
outside the repository too.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from cachechaos.errors import BadInput

# Installed wheels unpack package data as plain files, so a path next to this module is real.
PACKAGE_DIR = Path(__file__).resolve().parent
# A checkout or an editable install: the package sits one level below the repository's top.
_REPO_DIR = PACKAGE_DIR.parents[1]


def data_dir(name: str) -> Path:
    """The folder of packaged `experiments` or `targets`: inside the package in a wheel, at the
    repository's top level in a checkout or an editable install."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else _REPO_DIR / name


EXPERIMENTS_DIR = data_dir("experiments")
TARGETS_DIR = data_dir("targets")
CI_DIR = PACKAGE_DIR / "ci"

LOCAL_SUITE = Path("experiments/checklist.yaml")
PACKAGED_SUITE = EXPERIMENTS_DIR / "checklist.yaml"

# Where `init` puts each CI recipe so that the CI service picks it up.
CI_RECIPES: dict[str, tuple[str, Path]] = {
    "github": ("github-actions.yml", Path(".github/workflows/cachechaos.yml")),
    "gitlab": ("gitlab-ci.yml", Path(".gitlab-ci.yml")),
    # Variants that bring up the repository's own compose project, gate it and take it down.
    "github-compose": ("github-actions-compose.yml", Path(".github/workflows/cachechaos.yml")),
    "gitlab-compose": ("gitlab-ci-compose.yml", Path(".gitlab-ci.yml")),
}
CiChoice = Literal["github", "gitlab", "github-compose", "gitlab-compose", "none"]


def resolve(path: Path) -> Path:
    """`path` if it exists; else the packaged file an `experiments/…` or `targets/…` path names; else `path`."""
    if path.exists() or path.is_absolute():
        return path
    parts = path.parts
    if len(parts) >= 2 and parts[0] in ("experiments", "targets"):
        packaged = data_dir(parts[0]).joinpath(*parts[1:])
        if packaged.is_file():
            return packaged
    return path


def default_suite() -> Path:
    """The working directory's experiments/checklist.yaml (e.g. after `init .`), else the packaged one."""
    return LOCAL_SUITE if LOCAL_SUITE.is_file() else PACKAGED_SUITE


@dataclass(frozen=True)
class PackagedExperiment:
    name: str
    file: str
    purpose: str
    variants: dict[str, str]  # variant name -> expected verdict
    suites: tuple[str, ...]


def _is_suite(path: Path) -> bool:
    data = yaml.safe_load(path.read_text())
    return isinstance(data, dict) and "experiments" in data


def packaged_experiments() -> list[PackagedExperiment]:
    """Every packaged experiment with its purpose, variants and the suites that include it."""
    from cachechaos.experiment.model import load_experiment, load_suite

    files = sorted(EXPERIMENTS_DIR.glob("*.yaml"))
    suites = [load_suite(f) for f in files if _is_suite(f)]
    out = []
    for f in files:
        if _is_suite(f):
            continue
        spec = load_experiment(f)
        out.append(PackagedExperiment(
            name=spec.name, file=f"experiments/{f.name}", purpose=spec.purpose,
            variants={n: v.expect for n, v in spec.variants.items()},
            suites=tuple(s.name for s in suites if any(e.path == f.name for e in s.experiments)),
        ))
    return out


class InitError(BadInput):
    """`init` would overwrite files the user has; nothing was written."""


def init_project(dest: Path, ci: CiChoice = "github", force: bool = False) -> list[Path]:
    """Copy the packaged experiments, the topologies (the example compose project too) and a CI recipe
    under `dest`; the files written.

    Refuses (InitError) before writing anything when a file would be overwritten, unless `force`.
    """
    plan: list[tuple[Path, Path]] = [(f, dest / "experiments" / f.name) for f in sorted(EXPERIMENTS_DIR.glob("*.yaml"))]
    plan += [(f, dest / "targets" / f.name) for f in sorted(TARGETS_DIR.glob("*.yaml"))]
    if ci != "none":
        recipe, where = CI_RECIPES[ci]
        plan.append((CI_DIR / recipe, dest / where))
    # The example compose project (`kind: compose`) and the example adapters, files and folders as they are.
    plan += [(f, dest / "targets" / f.relative_to(TARGETS_DIR))
             for folder in ("compose", "adapters") for f in sorted((TARGETS_DIR / folder).rglob("*"))
             if f.is_file() and "__pycache__" not in f.parts]
    existing = [target for _, target in plan if target.exists()]
    if existing and not force:
        raise InitError("would overwrite " + ", ".join(map(str, existing)) + " (use --force)")
    for source, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return [target for _, target in plan]
