"""A node of a topology: one server with a name, an address and handles.

A node is a definition (its files, command line, readiness probe); where its process
runs is its launcher's business (cachechaos.runtime.launcher)."""

from __future__ import annotations

import signal
from pathlib import Path

from cachechaos.runtime.launcher import Launcher, LaunchSpec, LocalLauncher
from cachechaos.runtime.process import Running, wait_until


class Node:
    """Base for servers a runtime runs. Subclasses write their files, build argv and the readiness probe."""

    kind = "node"
    # Signal that asks the server to stop quickly and cleanly.
    stop_signal = signal.SIGTERM

    def __init__(self, name: str, host: str, port: int, node_dir: Path) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.dir = node_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        # Where it runs: a child process unless the topology hands its nodes another launcher.
        self.launcher: Launcher = LocalLauncher()
        self.process: Running | None = None
        self.env: dict[str, str] | None = None  # the process's whole environment, when not the toolkit's

    @property
    def address(self) -> str:
        """The real (unproxied) address."""
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.name}.log"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        """One real protocol call; True when the server answers as expected."""
        raise NotImplementedError

    def user(self) -> str | None:
        return None

    def launch_spec(self) -> LaunchSpec:
        program, *args = self.argv()
        return LaunchSpec(self.name, self.kind, program, args, self.dir, self.log_path, user=self.user(),
                          ports=(self.port,), stop_signal=self.stop_signal, env=self.env)

    def start(self) -> None:
        if self.process is None:
            self.process = self.launcher.launch(self.launch_spec())
        self.process.start()

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_until(self.ready, timeout, f"{self.name} to answer", alive=self.process)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.running else None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None and self.process.running:
            self.process.signal(self.stop_signal)
            self.process.stop(timeout)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def restart(self, timeout: float = 30.0) -> None:
        self.stop()
        self.start()
        self.wait_ready(timeout)

    def pause(self) -> None:
        """SIGSTOP: the process hangs without closing its sockets (a GC pause, a frozen VM)."""
        if self.process is not None:
            self.process.signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.signal(signal.SIGCONT)

    def log_tail(self, lines: int = 20) -> str:
        return self.process.log_tail(lines) if self.process else ""
