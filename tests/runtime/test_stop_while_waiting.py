"""A SIGTERM or SIGINT that arrives while a readiness check runs stops the run (Aborted, exit 130): the
check's retry loop must not take it for a node still starting, or the run carries on as if never stopped
(the kill trials saw runs stopped during start-up exit 0)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from cachechaos.errors import Aborted, aborting_on_signals
from cachechaos.runtime.process import wait_until


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_inside_a_readiness_check_is_not_retried(sig: signal.Signals) -> None:
    checks = 0

    def check() -> bool:
        nonlocal checks
        checks += 1
        os.kill(os.getpid(), sig)  # delivered while the check runs, as during a probe of a starting node
        time.sleep(0.05)
        return False

    with aborting_on_signals(), pytest.raises(Aborted):
        wait_until(check, 3, "a node that never answers")
    assert checks == 1
