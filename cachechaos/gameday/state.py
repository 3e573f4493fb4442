"""The game day's state file: where its control API listens and its token, readable by its owner only.

`<state dir>/gameday.json` (the state dir of `up`: $CACHECHAOS_STATE_DIR or ./.cachechaos), written
with mode 0600 before anything is in it, so the token is never readable by another user, not even
for an instant. The CLI's `fault`, `note`, `traffic set` and `gameday stop` read it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cachechaos.errors import BadInput

STATE_FILE = "gameday.json"


class NoGameDay(BadInput):
    """No game day is running where the CLI looked."""


def state_file(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def write_state(state_dir: Path, state: dict[str, Any]) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_file(state_dir)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)  # an older file of that name kept its mode through O_TRUNC
        json.dump(state, out)
    tmp.replace(path)
    return path


def read_state(state_dir: Path) -> dict[str, Any]:
    path = state_file(state_dir)
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise NoGameDay(f"no game day is running here (no {path}); start one with `cachechaos gameday start`, "
                        "or pass the --state-dir it was started with") from None
    except (OSError, ValueError) as exc:
        raise NoGameDay(f"{path}: unreadable game-day state: {exc}") from None
    if not isinstance(state, dict) or not {"url", "token"} <= set(state):
        raise NoGameDay(f"{path}: not a game-day state file")
    return state


def clear_state(state_dir: Path) -> None:
    """Remove the state file if it is this process's."""
    path = state_file(state_dir)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass
