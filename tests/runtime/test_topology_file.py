"""Topology files: validation errors name the file, the line and the field; the CLI exits 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cachechaos.checklist import TARGETS_DIR
from cachechaos.runtime.topology import TopologySpec, load_topology
from cachechaos.yamlmodel import ConfigFileError


def test_shipped_local_yaml_is_the_default() -> None:
    assert load_topology(TARGETS_DIR / "local.yaml") == TopologySpec()


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("kind: local\nredis:\n  sentinels: three\n", 3, "redis.sentinels"),
        ("kind: local\npostgres:\n  products: 10\n  colour: red\n", 4, "postgres.colour"),
        ("redis:\n  sentinels: 3\n  quorum: 5\n", 2, "redis"),
        ("kind: docker-swarm\n", 1, "kind"),
        ("postgres: [1, 2\n", 2, None),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, line: int, field: str | None) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError) as info:
        load_topology(path)
    assert (info.value.path, info.value.line, info.value.field) == (str(path), line, field)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_cli_exits_2_naming_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("kind: local\nredis:\n  replicas: -1\n")
    result = subprocess.run(
        [sys.executable, "-m", "cachechaos", "up", "--topology", str(path), "--state-dir", str(tmp_path / "s")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert f"{path}:3: redis.replicas" in " ".join(result.stderr.split())
