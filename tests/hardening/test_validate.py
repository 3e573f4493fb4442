"""`cachechaos validate`: files of each kind accepted or rejected as run, gate and up would, with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cachechaos.checklist import EXPERIMENTS_DIR, TARGETS_DIR
from cachechaos.cli import cli
from cachechaos.validate import detect_kind
from tests.hardening.input_fuzz import NO_SERVERS, make_workspace


def _validate(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_every_packaged_file_is_valid() -> None:
    files = sorted(EXPERIMENTS_DIR.glob("*.yaml")) + sorted(TARGETS_DIR.glob("*.yaml")) + [TARGETS_DIR / "compose/topology.yaml"]
    code, out, err = _validate(*map(str, files))
    assert code == 0, err
    assert out.count("\nok ") + out.startswith("ok ") == len(files)
    assert "suite checklist" in out and "topology compose-example (kind compose)" in out


@pytest.mark.parametrize(("data", "kind"), [
    ({"name": "x", "phases": []}, "experiment"), ({"experiments": []}, "suite"), ({"kind": "external"}, "topology"),
    ({"redis": {}}, "topology"), (None, "topology"), ({"hello": 1}, None), ([1, 2], None),
])
def test_kind_is_told_from_the_fields(data: object, kind: str | None) -> None:
    assert detect_kind(data) == kind


BAD = [
    # (file name, text, line, field or None, words of the message)
    ("exp.yaml", "name: x\npurpose: y\nphases:\n  - name: a\n    duration_s: -3\n", 5, "phases.0.duration_s", "greater than 0"),
    ("exp.yaml", "name: x\npurpose: y\nphases:\n  - name: a\n    duration_s: .inf\n", 5, "phases.0.duration_s", "finite"),
    ("exp.yaml", "name: x\npurpose: y\nphases:\n  - name: a\n    duration_s: 1\n    faults:\n      - type: kill\n        node: primary\n"
     "        nod: primary\n", 9, "phases.0.faults.0.nod", "unknown field"),
    ("exp.yaml", "name: x\npurpose: y\ntarget: {overrides: {redis: {replicas: 9}}}\nphases: [{name: a, duration_s: 1}]\n",
     3, "target.overrides.redis.replicas", "less than or equal to 4"),
    ("suite.yaml", "name: s\nexperiments:\n  - path: flushall-recovery.yaml\n    variants: [nope]\n", 4,
     "experiments.0.variants", "no such variant"),
    ("suite.yaml", "name: s\nexperiments:\n  - path: missing.yaml\n", 3, "experiments.0.path", "no experiment file"),
    ("topo.yaml", "kind: local\nredis:\n  sentinels: 2\n  quorum: 3\n", 3, "redis", "quorum 3 is larger"),
    ("topo.yaml", "kind: [docker]\n", 1, "kind", "unknown topology kind"),
    ("topo.yaml", "kind: local\nredis: {sentinels: 3\n", 3, None, "invalid YAML"),
    ("topo.yaml", "kind: local\nname: \x07\n", 2, None, "control characters"),
]


@pytest.mark.parametrize(("name", "text", "line", "field", "words"), BAD)
def test_bad_files_name_file_line_and_field(tmp_path: Path, name: str, text: str, line: int, field: str | None,
                                            words: str) -> None:
    ws = make_workspace(tmp_path)
    path = ws / "experiments" / name
    path.write_text(text)
    code, _, err = _validate(str(path))
    assert code == 2
    expected = f"error: {path}:{line}: " + (f"{field}: " if field else "")
    assert err.startswith(expected), err
    assert words in err


def test_binary_garbage_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"kind: local\nname: a\n\xff\xfe\x00garbage")
    code, _, err = _validate(str(path))
    assert code == 2 and err.startswith(f"error: {path}:3: not UTF-8 text"), err


def test_a_fault_the_topology_cannot_do_names_the_fault(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    exp = ws / "experiments" / "pause.yaml"
    exp.write_text("name: x\npurpose: y\nphases:\n  - name: a\n    duration_s: 1\n    faults:\n      - type: pause\n        node: redis-1\n")
    code, _, err = _validate(str(exp), "--topology", str(ws / "targets/external.yaml"))
    assert code == 2
    assert err.startswith(f"error: {exp}:7: phases.0.faults.0.type: fault 'pause' (pause) needs Pausable"), err
    assert _validate(str(exp))[0] == 0  # the local runtime can pause a process


def test_run_and_gate_reject_what_validate_rejects_with_the_same_message(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    exp = ws / "experiments" / "bad.yaml"
    exp.write_text("name: x\npurpose: y\nscale: 0.5\nphases:\n  - name: a\n    duration_s: 1\n    faults: [{type: flushall, node: 7}]\n")
    suite = ws / "experiments" / "bad-suite.yaml"
    suite.write_text("name: s\nexperiments:\n  - path: bad.yaml\n")
    runner = CliRunner(env=NO_SERVERS)
    _, _, err = _validate(str(exp))
    for args in (["run", str(exp)], ["gate", str(suite), "--only", "x"]):
        result = runner.invoke(cli, [*args, "--reports-dir", str(tmp_path / "reports"), "--no-live"])
        assert result.exit_code == 2, result.output
        assert " ".join(err.split()).removeprefix("error: ") in " ".join(result.stderr.split())
    assert not (tmp_path / "reports").exists()  # nothing started, nothing recorded


def test_validate_binds_the_packaged_rows_to_an_attached_topology_as_gate_does(tmp_path: Path) -> None:
    """The packaged rows carry the sample backend's overrides: `gate --topology` drops them when it binds
    a row to a compose project, and so does validate for a suite, or for an experiment with --gate."""
    compose = str(TARGETS_DIR / "compose/topology.yaml")
    code, out, err = _validate(str(EXPERIMENTS_DIR / "checklist.yaml"), "--topology", compose)
    assert code == 0, err
    # Each backend has its own proxies there: every row applies, split-brain and cache-aside-race too.
    assert "14 experiment(s) valid" in out and "not applicable" not in out, out
    stampede = str(EXPERIMENTS_DIR / "stampede.yaml")
    code, out, err = _validate(stampede, "--topology", compose)  # as `run` loads it: its overrides are the local runtime's
    assert code == 2 and "target.overrides.postgres.products: unknown field" in err
    code, out, err = _validate("--gate", stampede, "--topology", compose)
    assert code == 0, err
    assert "stampede (2 cell(s) fit their topology)" in out  # with the faults, and the control
    # On a sample backend cachechaos runs, gate mode binds nothing: every variant and the control.
    code, out, err = _validate("--gate", stampede, "--topology", str(TARGETS_DIR / "local.yaml"))
    assert code == 0 and "stampede (4 cell(s) fit their topology)" in out, (out, err)
