"""Child processes that never outlive the toolkit.

Every server the toolkit starts is spawned through `ManagedProcess`: output
goes to a log file under the run directory, and the kernel delivers SIGKILL
to the child when the toolkit dies (PR_SET_PDEATHSIG), so not even a SIGKILL
of the toolkit leaves an orphan behind.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from cachechaos.errors import Aborted

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)

# PDEATHSIG fires when the *thread* that forked the child exits, not the
# process. Spawning from a short-lived worker thread would kill the server
# the moment that thread ends, so spawns are only allowed from the main thread.
_MAIN_THREAD = threading.main_thread()


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:
        # Runs in the child after setuid (CPython drops privileges before
        # preexec_fn), which matters: a credential change clears PDEATHSIG.
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


class Running(Protocol):
    """A launched node: what the runtime and the process faults do to it, wherever it runs
    (cachechaos.runtime.launcher). `ManagedProcess` is the one for a local child process."""

    name: str

    @property
    def pid(self) -> int | None: ...

    @property
    def running(self) -> bool: ...

    @property
    def returncode(self) -> int | None: ...

    def start(self) -> None:
        """Start it (again, after a kill or a stop, with the same files)."""
        ...

    def signal(self, sig: int) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...

    def kill(self) -> None: ...

    def log_tail(self, lines: int = 20) -> str: ...


class ManagedProcess:
    """One server process: started, watched, stopped; its output in `log_path`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.user = user
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        if threading.current_thread() is not _MAIN_THREAD:
            raise RuntimeError("servers must be spawned from the main thread (PR_SET_PDEATHSIG)")
        if self.running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            kwargs: dict[str, object] = {}
            if self.user is not None:
                entry = pwd.getpwnam(self.user)
                kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
                preexec_fn=_die_with_parent(os.getpid()),
                **kwargs,  # type: ignore[call-overload]
            )

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def signal(self, sig: int) -> None:
        if self.running and self._proc is not None:
            self._proc.send_signal(sig)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def kill(self) -> None:
        """SIGKILL: the crash a fault wants, no chance to clean up."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def wait(self, timeout: float | None = None) -> int:
        if self._proc is None:
            raise RuntimeError(f"{self.name} was never started")
        return self._proc.wait(timeout)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
    alive: Running | None = None,
) -> None:
    """Poll `check` until it returns True; fail fast if `alive` has exited."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if alive is not None and not alive.running:
            raise RuntimeError(
                f"{alive.name} exited with code {alive.returncode} while waiting for {what}:\n"
                f"{alive.log_tail()}"
            )
        try:
            if check():
                return
        except Aborted:
            raise  # SIGINT/SIGTERM arrived inside the check: the operator's stop, not a node still starting
        except Exception as exc:
            last_error = exc
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


def unprivileged_user() -> str | None:
    """The account servers that refuse root (PostgreSQL) run as, or None when not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and no unprivileged account (postgres, nobody) exists")
