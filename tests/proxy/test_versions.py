"""Version parsing on the bodies and outputs real Toxiproxy servers and binaries produce.

The recorded texts are what the code at each tag writes: api.go's Version
handler for `/version`, cmd's flag handling for `-version` (Go's flag package
prints "flag provided but not defined" and the usage for an unknown flag).
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cachechaos.proxy.versions import (
    UNKNOWN,
    has_populate,
    parse_api_version,
    parse_binary_version,
    updates_with_patch,
    version_numbers,
)
from cachechaos.runtime import binaries

# GET /version bodies, by the tag whose api.go writes them.
API_BODIES = [
    ("v2.1.4 release build (text/plain)", "2.1.4", "2.1.4"),
    ("v2.1.4 `make build` (git-<sha>)", "git-5d5dbb4", "git-5d5dbb4"),
    ("v2.5.0 (text/plain)", "2.5.0", "2.5.0"),
    ("v2.6.0 raw Go string: literal backslash-n", '{"version": "2.6.0"}\\n', "2.6.0"),
    ("v2.7.0 valid JSON and a newline", '{"version": "2.7.0"}\n', "2.7.0"),
    ("v2.12.0 goreleaser tag with a v", '{"version": "v2.12.0"}\n', "2.12.0"),
    ("our built-in server", '{"version": "2.12.0-cachechaos"}', "2.12.0-cachechaos"),
]

FLAG_USAGE_2_1_4 = (
    "flag provided but not defined: -version\n"
    "Usage of toxiproxy-server:\n"
    "  -config string\n    \tJSON file containing proxies to create on startup\n"
    "  -host string\n    \tHost for toxiproxy's API to listen on (default \"localhost\")\n"
    "  -port string\n    \tPort for toxiproxy's API to listen on (default \"8474\")\n"
    "  -seed int\n    \tSeed for randomizing toxics with (default 1732871234567890123)\n"
)


@pytest.mark.parametrize(("server", "body", "version"), API_BODIES, ids=[b[0] for b in API_BODIES])
def test_every_known_version_body_gives_the_version(server: str, body: str, version: str) -> None:
    assert parse_api_version(body) == version


def test_the_2_6_0_body_is_really_not_json() -> None:
    # The reason a JSON-only reader fails on 2.6.0 (fixed in 2.7.0, CHANGELOG #538).
    with pytest.raises(json.JSONDecodeError):
        json.loads('{"version": "2.6.0"}\\n')


@pytest.mark.parametrize("body", ["", "   \n", "<html>404 page not found</html>", '{"name": "x"}',
                                  "404 page not found\n"])
def test_bodies_without_a_version_give_none(body: str) -> None:
    assert parse_api_version(body) is None


@pytest.mark.parametrize(("output", "version"), [
    ("toxiproxy-server version 2.4.0\n", "2.4.0"),
    ("toxiproxy-server version 2.12.0\n", "2.12.0"),
    ("toxiproxy-server version v2.9.0\n", "2.9.0"),
    ("toxiproxy-server version git-abc1234\n", "git-abc1234"),
    (FLAG_USAGE_2_1_4, None),
    ("", None),
])
def test_binary_output(output: str, version: str | None) -> None:
    assert parse_binary_version(output) == version


def test_release_numbers_and_the_update_verb() -> None:
    assert version_numbers("2.1.4") == (2, 1, 4)
    assert version_numbers("2.12.0-cachechaos") == (2, 12, 0)
    assert version_numbers("git-abc1234") is None
    # Every 2.x server takes POST for updates; PATCH only for a later major that may drop POST.
    assert [updates_with_patch(v) for v in ("2.1.4", "2.6.0", "2.12.0", UNKNOWN, "git-abc1234")] == [False] * 5
    assert updates_with_patch("3.0.0") is True
    # /populate came in 2.1.0; an unknown build is taken to have it.
    assert [has_populate(v) for v in ("2.0.0", "2.0.1", "2.1.0", "2.12.0", "git-abc1234")] == [
        False, False, True, True, True]


def _fake_toxiproxy(path: Path, stdout: str, stderr: str, code: int) -> Path:
    path.write_text(f"#!/bin/sh\nprintf '%s' {_sh(stdout)}\nprintf '%s' {_sh(stderr)} >&2\nexit {code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _sh(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@pytest.mark.parametrize(("stdout", "stderr", "code", "version"), [
    ("", FLAG_USAGE_2_1_4, 2, UNKNOWN),  # 2.1.4: the usage goes to stderr, exit 2
    ("toxiproxy-server version 2.12.0\n", "", 0, "2.12.0"),
], ids=["2.1.4", "2.12.0"])
def test_resolved_binary_and_doctor_show_a_clean_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stdout: str, stderr: str, code: int, version: str
) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    server = _fake_toxiproxy(bindir / "toxiproxy-server", stdout, stderr, code)
    monkeypatch.delenv(binaries.ENV_VARS["toxiproxy"], raising=False)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    chosen = binaries.resolve("toxiproxy")
    assert (chosen.path, chosen.version) == (str(server), version)

    doctor = subprocess.run([sys.executable, "-m", "cachechaos", "doctor"], capture_output=True, text=True,
                            timeout=120, env={"PATH": f"{bindir}:/usr/bin:/bin", "COLUMNS": "250"})
    row = next(line for line in doctor.stdout.splitlines() if str(server) in line and "toxiproxy" in line)
    assert version in row, doctor.stdout
    assert "flag provided" not in doctor.stdout
    if version == UNKNOWN:
        assert "the flag came in Toxiproxy 2.4.0" in doctor.stdout
