"""Where a node runs: the launcher seam.

A node definition (`RedisNode`, `SentinelNode`, `PostgresNode`, `BackendNode`,
`FaultProxyNode`) says *what* runs: the configuration files it writes into its
directory, its command line (`LaunchSpec`), the readiness probe, the signal that
stops it cleanly. A `Launcher` says *where* it runs and hands back a `Running`
handle that starts, signals, stops and kills it. `LocalLauncher` runs a child
process of the toolkit (`ManagedProcess`); a topology takes any launcher
(`LocalTopology(spec, run_dir, launcher=...)`) and passes it to every node.

How a container launcher plugs in (the Docker runtime):

- implement `launch(spec) -> Running`: one container per node, created from an image
  that holds the program for `spec.kind` (redis/valkey-server, postgres, python with
  cachechaos for `backend` and the built-in `toxiproxy`). Run `spec.program`'s
  counterpart in the image with `spec.args` unchanged.
- bind-mount `spec.workdir` at the same absolute path inside the container: every path
  in `spec.args` and in the configuration files the definition wrote (`dir`, the
  config file, PostgreSQL's data directory) is under it, so nothing needs translating,
  and logs (`spec.log_path`) and Sentinel's config rewrites land in the run directory.
- publish `spec.ports`; build the definitions with the address the node binds inside
  the container and the one it announces to clients (`announce`) on the host side.
- `Running.signal` is `docker kill --signal`, `kill` is SIGKILL, `stop(timeout)` sends
  `spec.stop_signal` and removes the container after `timeout`; `pause` faults use
  SIGSTOP/SIGCONT the same way (or `docker pause`).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cachechaos.runtime.process import ManagedProcess, Running

__all__ = ["LaunchSpec", "Launcher", "LocalLauncher", "Running"]


@dataclass(frozen=True)
class LaunchSpec:
    """One node's process, independent of where it runs."""

    name: str                     # the node's name (cachechaos.names)
    kind: str                     # redis, sentinel, postgres, backend, toxiproxy, or a helper such as initdb
    program: str                  # the executable on this machine (a container runs its image's own)
    args: list[str]
    workdir: Path                 # the node's directory: its config files and data live under it
    log_path: Path
    user: str | None = None       # an unprivileged account, for servers that refuse root
    ports: tuple[int, ...] = ()   # what it listens on (a container publishes them)
    stop_signal: int = signal.SIGTERM
    env: dict[str, str] | None = field(default=None)

    @property
    def argv(self) -> list[str]:
        return [self.program, *self.args]


class Launcher(Protocol):
    def launch(self, spec: LaunchSpec) -> Running:
        """A handle for `spec`, not yet started."""
        ...


class LocalLauncher:
    """Nodes as child processes of the toolkit, which die with it (PR_SET_PDEATHSIG)."""

    def launch(self, spec: LaunchSpec) -> ManagedProcess:
        return ManagedProcess(spec.name, spec.argv, spec.log_path, cwd=spec.workdir, env=spec.env, user=spec.user)
