"""The command line's two consoles: results on stdout, progress and errors on stderr.

In a terminal rich wraps to the window. In a CI log there is no window: wrapping at a guessed width
breaks sentences in the middle, so text goes out unwrapped (`soft_wrap`) and the log viewer wraps it;
tables still need a width to lay out, and get a wide one.
"""

from __future__ import annotations

import sys

from rich.console import Console


def _console(stderr: bool) -> Console:
    tty = (sys.stderr if stderr else sys.stdout).isatty()
    return Console(stderr=stderr, width=None if tty else 200, soft_wrap=not tty)


out = _console(stderr=False)
err = _console(stderr=True)
