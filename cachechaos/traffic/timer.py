"""Waking a greenlet at an exact time without spinning: a Linux timerfd watched by gevent's loop.

gevent's own timers (libev) wake through epoll_wait, whose timeout is whole
milliseconds: a `gevent.sleep` returns up to 1 ms late. Spinning on
`gevent.sleep(0)` for the last millisecond is exact but keeps a core busy once
arrivals are less than a millisecond apart. A timerfd is a kernel high-resolution
timer delivered as a readable file descriptor: the loop sleeps in epoll and
wakes within the kernel's timer slack (50 us by default) of the deadline, for one
settime per wake.

Python has `os.timerfd_*` only from 3.13; below that the two libc calls go
through ctypes. Without a timerfd (not Linux) `sleep_until` falls back to
gevent.sleep and its millisecond wake-ups.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Any

import gevent
from gevent.hub import get_hub

from cachechaos.history.clock import now

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = os.O_CLOEXEC
_READ = 1  # libev's EV_READ


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.timerfd_settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Itimerspec),
                                         ctypes.POINTER(_Itimerspec)]
        return libc
    except (OSError, AttributeError):
        return None


class PreciseSleeper:
    """Sleeps the calling greenlet until a `history.clock.now()` time. One per scheduling greenlet."""

    def __init__(self) -> None:
        self._libc = _libc()
        self._fd = -1
        if self._libc is not None:
            self._fd = self._libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        self._spec = _Itimerspec()
        self._spec_ref = ctypes.byref(self._spec)
        self._hub = get_hub()
        self._watcher = self._hub.loop.io(self._fd, _READ) if self._fd >= 0 else None

    @property
    def precise(self) -> bool:
        """True with a timerfd; False when sleeps fall back to gevent's millisecond timers."""
        return self._watcher is not None

    def sleep_until(self, due: float) -> None:
        """Return at `due` (history.clock.now() seconds) or just after it; at once when it has passed."""
        delay = due - now()
        if delay <= 0:
            return
        if self._watcher is None:
            gevent.sleep(delay)
            return
        value = self._spec.it_value
        value.tv_sec = int(delay)
        value.tv_nsec = max(1, int((delay - value.tv_sec) * 1e9))  # 0 would disarm the timer
        if self._libc.timerfd_settime(self._fd, 0, self._spec_ref, None) != 0:
            gevent.sleep(delay)
            return
        # The expiry is not read: the next settime resets the count and makes the fd unreadable again,
        # and the watcher is stopped between waits, so the stale readiness wakes nobody (a syscall
        # less per arrival).
        self._hub.wait(self._watcher)

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
