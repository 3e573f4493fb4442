"""The game day's dashboard in headless Chromium (the machine's, driven over the DevTools pipe): opened
with the token it shows live numbers that change, adds a fault from its form, heals everything with the
big button, and the fault is gone from the game day itself; without the token nothing is served."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cachechaos.runtime.state import pid_alive
from tests.gameday.gameday_cli import cli, processes_naming, start_detached, wait_for
from tests.report.browser import INSTALL_HINT, Chromium, find_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    executable = find_chromium()
    if executable is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    chromium = Chromium(executable, loopback=True)
    try:
        yield chromium
    finally:
        chromium.close()


def test_the_dashboard_in_chromium(browser: Chromium, tmp_path: Path) -> None:
    state = start_detached(tmp_path, 100)
    url, token, pid = state["url"], state["token"], state["pid"]
    try:
        for path in ("/", "/api/state", "/metrics"):
            assert httpx.get(url + path).status_code == 401, path
        assert httpx.get(url + "/", params={"token": token + "x"}).status_code == 401

        page = browser.open_url(f"{url}/?token={token}")
        assert "token" not in page.evaluate("location.href")  # taken off the address bar once read
        page.wait_for("Number(document.getElementById('rps').textContent.replace(/,/g, '')) > 0", timeout=30)
        first = page.evaluate("[document.getElementById('status').textContent, points.length]")
        time.sleep(2.5)
        second = page.evaluate("[document.getElementById('status').textContent, points.length]")
        assert second[0] != first[0] and second[1] > first[1]  # updated at least once a second
        assert page.evaluate("document.getElementById('p99').textContent") != "-"

        # A fault from the page's form, validated and injected by the game day.
        page.evaluate("document.getElementById('fault-type').value = 'latency'")
        page.evaluate("document.getElementById('fault-params').value = 'link=postgres latency_ms=50'")
        page.evaluate("document.getElementById('add-fault').click()")
        page.wait_for("document.querySelector('#faults tr[data-id=\"latency-1\"]')")
        assert "latency-1" in cli(tmp_path, "fault", "list").stdout
        # A bad one is refused with the fault model's words, and nothing is added.
        page.evaluate("document.getElementById('fault-params').value = 'link=postgres latency_ms=-1'")
        page.evaluate("document.getElementById('add-fault').click()")
        page.wait_for("document.getElementById('message').className === 'error'")
        assert "latency_ms" in page.evaluate("document.getElementById('message').textContent")

        page.evaluate("document.getElementById('heal-all').click()")
        page.wait_for("!document.querySelector('#faults tr[data-id]')")
        assert "no active fault" in cli(tmp_path, "fault", "list").stdout
        page.wait_for("[...document.querySelectorAll('#timeline-rows td')].some(td => td.textContent.includes("
                      "'healed latency-1 (heal everything)'))")
        log = page.log()
        # The one error is the refused fault's answer (400), which the page showed.
        assert log.console_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
        assert all(r.startswith(url) for r in log.requests), log.requests  # nothing from anywhere else
        page.close()
    finally:
        stopped = cli(tmp_path, "gameday", "stop", timeout=180)
    assert stopped.returncode in (0, 1), stopped.stdout + stopped.stderr
    wait_for("the game day's exit", lambda: not pid_alive(pid), 30)
    assert processes_naming(state["run_dir"]) == []
