"""The open model's sender pool and its timerfd wake-ups, on gevent's real loop (no Locust, no network)."""

from __future__ import annotations

import gevent

from cachechaos.history.clock import now
from cachechaos.traffic.senders import SenderPool
from cachechaos.traffic.timer import PreciseSleeper


def test_a_full_pool_refuses_instead_of_queueing_and_senders_are_reused() -> None:
    pool = SenderPool(3)
    done: list[int] = []

    def job(i: int) -> None:
        gevent.sleep(0.02)
        done.append(i)

    assert [pool.offer(job, i) for i in range(5)] == [True, True, True, False, False]
    assert pool.in_flight == 3
    assert pool.join(timeout=2.0)
    assert sorted(done) == [0, 1, 2] and pool.in_flight == 0
    # The second wave runs on the three senders already made: the pool did not grow.
    assert all(pool.offer(job, i) for i in range(3, 6))
    assert pool.join(timeout=2.0)
    assert sorted(done) == [0, 1, 2, 3, 4, 5] and len(pool._senders) == 3
    pool.close()
    gevent.sleep(0)
    assert all(g.dead for g in pool._senders)


def test_a_failing_job_frees_its_slot_and_its_sender() -> None:
    pool = SenderPool(1)
    ran: list[str] = []

    def boom() -> None:
        raise ValueError("a bug in an action")

    assert pool.offer(boom)
    assert pool.join(timeout=1.0) and pool.in_flight == 0
    assert pool.offer(ran.append, "after")
    assert pool.join(timeout=1.0)
    assert ran == ["after"] and len(pool._senders) == 1
    pool.close()


def test_join_reports_a_pool_that_did_not_drain() -> None:
    pool = SenderPool(1)
    assert pool.offer(gevent.sleep, 5.0)
    assert not pool.join(timeout=0.05)
    pool.close()


def test_the_sleeper_never_returns_early_and_lets_other_greenlets_run() -> None:
    sleeper = PreciseSleeper()
    assert sleeper.precise  # Linux: a timerfd, not gevent's millisecond timers
    ticks: list[float] = []
    other = gevent.spawn(lambda: ticks.append(now()))
    try:
        for delay in (0.0003, 0.002, 0.0, -1.0, 0.01):
            due = now() + delay
            sleeper.sleep_until(due)
            assert now() >= due
        assert ticks, "the sleeping greenlet never yielded to the loop"
    finally:
        other.kill()
        sleeper.close()
