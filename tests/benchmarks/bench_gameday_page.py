"""CPU of the game-day process at 300 req/s, with its dashboard open in a browser and without (not collected by pytest).

    flock -w 1800 /tmp/cachechaos-timing.lock timeout 720 .venv/bin/python tests/benchmarks/bench_gameday_page.py \
        [--rate 300] [--seconds 20] [--rounds 2]

Starts a real game day (`cachechaos gameday start --detach`, local topology, open model at `rate`),
then measures the CPU time (user + system, from /proc/PID/stat) of the game-day process alone (its
threads: runner loop, sampler, live figures, control server; not the load processes, the target's
servers nor the browser) over windows of `seconds`, alternating: page closed, page open in headless
Chromium (polling /api/state once a second), `rounds` times. Prints the share of one core of each
window, the mean of each condition and their difference: what the dashboard's updates cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a plain script from anywhere

import httpx

from tests.gameday.gameday_cli import cli, start_detached
from tests.report.browser import Chromium, find_chromium

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def window(pid: int, seconds: float) -> float:
    """The process's CPU over `seconds` of wall time, as a share of one core."""
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    executable = find_chromium()
    if executable is None:
        sys.exit("headless Chromium is needed: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="bench-gameday-") as tmp:
        cwd = Path(tmp)
        state = start_detached(cwd, args.rate)
        pid = state["pid"]
        browser = Chromium(executable, loopback=True)
        closed: list[float] = []
        opened: list[float] = []
        try:
            time.sleep(5)  # the load at its rate, the figures' window full
            for _ in range(args.rounds):
                closed.append(window(pid, args.seconds))
                page = browser.open_url(f"{state['url']}/?token={state['token']}")
                page.wait_for("points.length > 0", timeout=30)
                opened.append(window(pid, args.seconds))
                page.close()
            rps = httpx.get(f"{state['url']}/api/state", params={"token": state["token"]}).json()["figures"]["rps"]
        finally:
            browser.close()
            stopped = cli(cwd, "gameday", "stop", timeout=300)
        print(f"game day asked {args.rate:g} req/s (sent {rps:.0f} req/s at the end), windows of {args.seconds:g} s, {args.rounds} rounds")
        print("page closed: " + ", ".join(f"{c:.1%}" for c in closed) + f"  mean {statistics.fmean(closed):.1%} of one core")
        print("page open:   " + ", ".join(f"{c:.1%}" for c in opened) + f"  mean {statistics.fmean(opened):.1%} of one core")
        print(f"the page's cost: {statistics.fmean(opened) - statistics.fmean(closed):+.1%} of one core")
        print(f"game day stopped: exit {stopped.returncode}")


if __name__ == "__main__":
    main()
