"""A pool of long-lived sender greenlets fed by the open model's schedule.

Spawning a greenlet per arrival (gevent.pool.Pool.spawn) costs a Greenlet, its
link bookkeeping and the pool's semaphore for every request: about a tenth of a
load process's CPU at 1,000 arrivals/s. Here a sender that has finished parks
itself on a Waiter; handing it the next arrival is one callback on the loop. Senders
are created only when every existing one is busy, so the pool grows to the
concurrency the load actually needs, never beyond `size` (max_in_flight).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gevent
from gevent.hub import Waiter, get_hub

log = logging.getLogger(__name__)

Job = tuple[Callable[..., None], tuple[Any, ...]]


class SenderPool:
    """At most `size` jobs in flight; `offer` hands a job to an idle sender or says the pool is full."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.in_flight = 0
        self._idle: list[Waiter] = []
        self._senders: list[gevent.Greenlet] = []
        self._run_callback = get_hub().loop.run_callback

    def offer(self, fn: Callable[..., None], *args: Any) -> bool:
        """Start fn(*args) in a sender (it runs once the caller yields); False, and nothing started, when full."""
        if self.in_flight >= self.size:
            return False
        self.in_flight += 1
        if self._idle:
            self._run_callback(self._idle.pop().switch, (fn, args))
        else:
            self._senders.append(gevent.spawn(self._sender, (fn, args)))
        return True

    def _sender(self, job: Job | None) -> None:
        idle = self._idle
        while job is not None:
            fn, args = job
            try:
                fn(*args)
            except Exception:  # a sender survives what would have killed a one-shot greenlet
                log.exception("request failed outside the request's own error handling")
            finally:
                self.in_flight -= 1
            waiter = Waiter()
            idle.append(waiter)
            job = waiter.get()

    def join(self, timeout: float) -> bool:
        """Wait until nothing is in flight (each request is bounded by its own timeout); True when drained."""
        deadline = gevent.get_hub().loop.now() + timeout
        while self.in_flight and gevent.get_hub().loop.now() < deadline:
            gevent.sleep(0.01)
        return not self.in_flight

    def close(self, kill_busy: bool = True) -> None:
        """Release the idle senders; kill those still sending unless `kill_busy` is False."""
        while self._idle:
            self._run_callback(self._idle.pop().switch, None)
        if kill_busy:
            gevent.killall([g for g in self._senders if not g.dead], block=True, timeout=1.0)
