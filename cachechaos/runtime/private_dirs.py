"""Private directories outside the run directory, for files a node needs that must not sit in it.

PostgreSQL's data (it refuses to run as root, and its user may not enter the run directory) and the
config files holding a node's password (Redis and Sentinel rewrite their config files, password
included). Each records the toolkit's pid: one whose toolkit was killed (SIGKILL skips the teardown)
is removed by the next toolkit that makes one of the same kind.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

OWNER_FILE = "owner.pid"


def sweep_orphans(prefix: str) -> None:
    """Remove the directories of `prefix` whose toolkit is gone."""
    from cachechaos.runtime.state import pid_alive

    for path in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            owner = int((path / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours to judge
        if not pid_alive(owner):
            shutil.rmtree(path, ignore_errors=True)


def private_dir(prefix: str, user: str | None = None) -> Path:
    """A fresh directory only its owner enters (mode 0700; `user` owns it when given), orphans of `prefix` swept first."""
    sweep_orphans(prefix)
    path = Path(tempfile.mkdtemp(prefix=prefix))
    (path / OWNER_FILE).write_text(str(os.getpid()))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return path
