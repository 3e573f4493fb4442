"""Mutated experiment, suite and topology files, and what the toolkit says about each.

Shared by tests/hardening/test_input_fuzz.py (a few hundred cases) and
tests/benchmarks/bench_fuzz_inputs.py (10,000). A case is a seed file of the packaged checklist
(or the external seed beside this module) changed by hypothesis: a value replaced by one of
another type or a huge one, a field deleted, an unknown field added, the YAML text cut, spliced
with junk or replaced by binary garbage. Each case goes through `cachechaos validate` and through
the loading path of the command that would use the file (`run`, `run --topology`, `gate`), both
in-process with click's CliRunner, and gets one outcome.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import strategies as st

from cachechaos.checklist import EXPERIMENTS_DIR, TARGETS_DIR
from cachechaos.cli import cli

HERE = Path(__file__).resolve().parent

# (seed file under the copied checklist, kind); small ones, so that 10,000 cases take minutes.
SEEDS: list[tuple[str, str]] = [
    ("experiments/flushall-recovery.yaml", "experiment"),
    ("experiments/stampede.yaml", "experiment"),
    ("experiments/primary-killed.yaml", "experiment"),
    ("experiments/ci-subset.yaml", "suite"),
    ("targets/local.yaml", "topology"),
    ("targets/docker.yaml", "topology"),
    ("targets/compose/topology.yaml", "topology"),
    ("targets/external.yaml", "topology"),
]
# The experiment a mutated topology is run with (`run EXPERIMENT --topology MUTATED`).
TOPOLOGY_PROBE = "experiments/flushall-recovery.yaml"

# Outcomes, best first. Anything but the first three is a bug of the toolkit.
VALID = "valid (exit 0)"
NAMED = "exit 2: file, line and field"
LINE_ONLY = "exit 2: file and line (YAML syntax, not a mapping: no field)"
FILE_ONLY = "exit 2: file, no line"
NO_FILE = "exit 2: message without the file"
TRACEBACK = "traceback"
OTHER_EXIT = "other exit code"
DISAGREE = "validate and the loading command disagree"
OUTCOMES = [VALID, NAMED, LINE_ONLY, FILE_ONLY, NO_FILE, TRACEBACK, OTHER_EXIT, DISAGREE]
GOOD = {VALID, NAMED, LINE_ONLY}


def make_workspace(root: Path) -> Path:
    """A copy of the packaged experiments and targets (plus the external seed) to mutate in."""
    shutil.copytree(EXPERIMENTS_DIR, root / "experiments")
    shutil.copytree(TARGETS_DIR, root / "targets", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(HERE / "external.yaml", root / "targets" / "external.yaml")
    return root


# -- mutations ------------------------------------------------------------------------------------

_junk_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=10**18, max_value=10**40), st.integers(max_value=-1),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, -1, 0.0, 1e308, 2**63, 2**64, -(2**63)]),
    st.text(max_size=30), st.sampled_from(["", "[/]", "{{x}}", "*", "%s", "primary", "all", "10mb", "-1s", "\u202e"]),
)
_junk = st.recursive(_junk_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                     max_leaves=6)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in `data` (mapping keys and list indexes), the root first."""
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*prefix, i))
    return out


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def mutated_data(draw: st.DrawFn, data: Any) -> Any:
    """`data` with one to three structural changes."""
    import copy

    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "delete", "unknown_key", "wrap", "huge"]))
        if not path:
            if op in ("replace", "wrap"):
                data = draw(_junk) if op == "replace" else [data]
            continue
        parent, last = _parent(data, path), path[-1]
        if op == "replace":
            parent[last] = draw(_junk)
        elif op == "huge":
            parent[last] = draw(st.sampled_from([10**30, -(10**30), 1e300, 2**64, "9" * 400, "x" * 10_000]))
        elif op == "delete":
            del parent[last]
        elif op == "wrap":
            parent[last] = [parent[last]]
        elif isinstance(parent[last], dict):
            parent[last][draw(st.text(min_size=1, max_size=12))] = draw(_junk)
        else:
            parent[last] = {draw(st.text(min_size=1, max_size=12)): parent[last]}
    return data


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> bytes:
    """The file's bytes broken at the YAML level: cut, spliced with junk, lines shuffled, or garbage."""
    raw = text.encode()
    op = draw(st.sampled_from(["cut", "splice", "splice", "indent", "swap_lines", "garbage", "nul", "deep", "alias"]))
    if op == "garbage":
        return draw(st.binary(max_size=200))
    at = draw(st.integers(0, len(raw)))
    if op == "cut":
        return raw[:at]
    if op == "splice":
        junk = draw(st.one_of(st.binary(max_size=8), st.sampled_from(
            [b":", b"- ", b"\t", b"{", b"]", b"&a", b"*a", b"!!python/object:os.system", b"'", b'"', b"---\n", b"? ", b"|", b"%YAML 1.1\n", b"\xc3"]),
            st.text(max_size=8).map(str.encode)))
        cut = draw(st.integers(0, 5))
        return raw[:at] + junk + raw[at + cut:]
    lines = raw.split(b"\n")
    i = draw(st.integers(0, max(0, len(lines) - 1)))
    if op == "indent":
        lines[i] = draw(st.sampled_from([b" ", b"   ", b"\t"])) + lines[i]
    elif op == "swap_lines":
        j = draw(st.integers(0, max(0, len(lines) - 1)))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "nul":
        lines[i] = lines[i] + b"\x00\x07"
    elif op == "deep":
        depth = draw(st.sampled_from([50, 2000, 20000]))
        lines[i] = b"x: " + b"[" * depth + b"]" * depth
    elif op == "alias":
        lines.insert(i, b"a: &a [1, 2]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]")
    return b"\n".join(lines)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """A seed (its path in the workspace and kind) and the mutated bytes to write over it."""
    seed, kind = draw(st.sampled_from(SEEDS))
    text = (HERE / "external.yaml").read_text() if seed == "targets/external.yaml" else (
        (EXPERIMENTS_DIR.parent / seed).read_text())
    if draw(st.booleans()):
        body = draw(mutated_text(text))
    else:
        data = draw(mutated_data(yaml.safe_load(text)))
        body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()
    return seed, kind, body


# -- outcomes ----------------------------------------------------------------------------------------

@dataclass
class Verdict:
    outcome: str
    detail: str  # the message, or the traceback's last line


def _classify(result: Any, path: Path) -> Verdict:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exc = result.exception
        return Verdict(TRACEBACK, f"{type(exc).__name__}: {exc}"[:300])
    text = (result.stderr or "") + (result.stdout or "")
    if result.exit_code == 0:
        return Verdict(VALID, "")
    if result.exit_code != 2:
        return Verdict(OTHER_EXIT, f"exit {result.exit_code}: {text[-300:]}")
    flat = " ".join(text.split())
    name = re.escape(str(path))
    if re.search(name + r":\d+: [^\s:][^\s]*: ", flat):
        return Verdict(NAMED, flat[:300])
    if re.search(name + r":\d+: ", flat):
        return Verdict(LINE_ONLY, flat[:300])
    if str(path) in flat:
        return Verdict(FILE_ONLY, flat[:300])
    return Verdict(NO_FILE, flat[:300])


def _loading_command(seed: str, kind: str, path: Path, workspace: Path) -> list[str]:
    """The command whose loading path reads a file of this kind, made so that it can never start a run:
    `gate --only` names no experiment (the suite's files are all loaded and validated first)."""
    reports = ["--reports-dir", str(workspace / "reports"), "--no-live"]
    if kind == "suite":
        return ["gate", str(path), "--only", "no-such-experiment-fuzz", *reports]
    if kind == "topology":
        return ["run", str(workspace / TOPOLOGY_PROBE), "--topology", str(path), *reports]
    return ["run", str(path), *reports]


# Should the loading command accept what validate rejected, it must not get far: no server binary.
NO_SERVERS = {"CACHECHAOS_REDIS_SERVER": "/nonexistent/redis-server", "CACHECHAOS_PG_BINDIR": "/nonexistent",
              "CACHECHAOS_TOXIPROXY_SERVER": "/nonexistent/toxiproxy-server"}


def check_case(workspace: Path, seed: str, kind: str, body: bytes,
               runner: CliRunner | None = None) -> Verdict:
    """Write the mutated file beside its seed, validate it, and when validate rejects it, load it as the
    command that uses it would: that must reject it too, with the same message."""
    runner = runner or CliRunner(env=NO_SERVERS)
    original = workspace / seed
    path = original.with_name("fuzz-" + original.name)
    path.write_bytes(body)
    verdict = _classify(runner.invoke(cli, ["validate", str(path)]), path)
    if verdict.outcome not in (NAMED, LINE_ONLY, FILE_ONLY, NO_FILE):
        return verdict
    loaded = runner.invoke(cli, _loading_command(seed, kind, path, workspace))
    second = _classify(loaded, path)
    if second.outcome == TRACEBACK:
        return second
    if loaded.exit_code != 2 or "no-such-experiment-fuzz" in (loaded.stderr or "") + (loaded.stdout or ""):
        return Verdict(DISAGREE, f"validate: {verdict.detail}; {' '.join(_loading_command(seed, kind, path, workspace)[:1])}: "
                                 f"exit {loaded.exit_code} {second.detail}")
    return verdict

