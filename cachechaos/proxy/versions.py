"""Toxiproxy versions: read from any `/version` body or `toxiproxy-server -version` output.

What each 2.x server answers (Toxiproxy's api.go and cmd at the tags named):

- `GET /version` up to 2.5.x: the bare version as text/plain ("2.1.4"; a
  `make build` binary says "git-<sha>").
- 2.6.0: `{"version": "2.6.0"}\\n` with a literal backslash-n (a raw Go string),
  which is not valid JSON; fixed in 2.7.0 (CHANGELOG #538).
- 2.7.0 on: valid JSON `{"version": "..."}` and a newline.
- `toxiproxy-server -version`: the flag exists from 2.4.0 on and prints
  "toxiproxy-server version 2.4.0"; older binaries print
  "flag provided but not defined: -version" and their usage, so their version
  cannot be read without starting them.
"""

from __future__ import annotations

import json
import re

UNKNOWN = "unknown"

# A version string as builds stamp it: "2.1.4", "v2.12.0", "2.12.0-cachechaos", "git-1a2b3c4".
_TOKEN = r"v?\d+\.\d+(?:\.\d+)?(?:[-+][\w.\-+]*)?|git-[0-9a-f]{4,40}"
_JSONISH = re.compile(r'"version"\s*:\s*"([^"\\]*)"')
_BINARY = re.compile(r"\bversion\s+(" + _TOKEN + r")\s*$", re.MULTILINE)
_BARE = re.compile(r"^(" + _TOKEN + r")$")
_NUMBERS = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_api_version(body: str) -> str | None:
    """The version in a `GET /version` body of any 2.x server, or None if it holds none."""
    text = body.strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("version"), str):
        return _clean(data["version"])
    # 2.6.0's JSON with a literal "\n" after it: the field is still there to read.
    match = _JSONISH.search(text)
    if match:
        return _clean(match.group(1))
    return _clean(text) if _BARE.match(text) else None


def parse_binary_version(output: str) -> str | None:
    """The version `toxiproxy-server -version` printed, or None (2.3 and older have no such flag)."""
    match = _BINARY.search(output.strip())
    return _clean(match.group(1)) if match else None


def version_numbers(version: str | None) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a release version; None for "git-<sha>" builds and unknowns."""
    match = _NUMBERS.match(version or "")
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def updates_with_patch(version: str | None) -> bool:
    """Whether proxy and toxic updates must use PATCH rather than POST on this server.

    Every 2.x server takes POST (2.6.0 deprecated it but keeps serving it), and
    before 2.6.0 PATCH is refused (404 up to 2.1.4, 405 after), so POST is the
    verb all of them share. Only a server of a later major, which may drop the
    deprecated verb, gets PATCH.
    """
    numbers = version_numbers(version)
    return numbers is not None and numbers[0] >= 3


def has_populate(version: str | None) -> bool:
    """Whether the server has `POST /populate` (2.1.0 on); unknown versions are taken to."""
    numbers = version_numbers(version)
    return numbers is None or numbers >= (2, 1, 0)


def _clean(version: str) -> str | None:
    version = version.strip()
    if not version:
        return None
    return version[1:] if re.match(r"v\d", version) else version
