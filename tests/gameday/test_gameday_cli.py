"""A whole game day through the CLI, on a real local topology: started detached, a latency fault on the
PostgreSQL link for 5 s, a note, a rate change, a halt guard that heals the fault that broke the
service, the stop; the report tells each event at its time and nothing is left running."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
from pathlib import Path
from typing import Any

import httpx

from cachechaos.runtime.state import pid_alive
from cachechaos.store.rundir import read_jsonl
from tests.gameday.gameday_cli import cli, processes_naming, start_detached, wait_for


def test_a_whole_game_day_through_the_cli(tmp_path: Path) -> None:
    state = start_detached(tmp_path, 80, {
        "criteria": [{"check": "error_rate", "max": 0.5}],
        "halt_if": [{"metric": "error_rate", "max": 0.2, "for_s": 2, "name": "error rate above 20% for 2 s"}],
    })
    state_path = tmp_path / "state" / "gameday.json"
    assert stat.S_IMODE(state_path.stat().st_mode) == 0o600  # the token is its owner's only
    run_dir, pid = Path(state["run_dir"]), state["pid"]
    try:
        assert httpx.get(f"{state['url']}/api/state").status_code == 401
        assert httpx.get(f"{state['url']}/api/state", headers={"Authorization": "Bearer wrong"}).status_code == 401

        def figures() -> dict[str, Any]:
            return httpx.get(f"{state['url']}/api/state", params={"token": state["token"]}).json()["figures"]

        wait_for("traffic", lambda: figures().get("rps", 0) > 40, 30)
        added = cli(tmp_path, "fault", "add", "latency", "link=postgres", "latency_ms=100", "--for", "5")
        assert added.returncode == 0 and "latency-1: active for 5 s" in added.stdout, added.stdout + added.stderr
        listed = cli(tmp_path, "fault", "list")
        assert "latency-1" in listed.stdout and "postgres" in listed.stdout
        bad = cli(tmp_path, "fault", "add", "latency", "link=postgres", "latency_ms=-5")
        assert bad.returncode == 2 and "latency_ms" in bad.stderr  # the experiment file's model said no
        assert cli(tmp_path, "note", "p99 up while PostgreSQL is slow").returncode == 0
        rate = cli(tmp_path, "traffic", "set", "--rate", "160")
        assert rate.returncode == 0, rate.stderr
        wait_for("the rate change", lambda: figures().get("rps", 0) > 120, 15)
        # A fault that cannot be injected (no such link) is said, journaled, and leaves nothing active.
        failed = cli(tmp_path, "fault", "add", "latency", "link=nope", "latency_ms=5", "id=bad-link")
        assert failed.returncode == 2 and "no link 'nope'" in failed.stderr, failed.stderr
        assert "bad-link" not in cli(tmp_path, "fault", "list").stdout
        wait_for("the end of latency-1's 5 s", lambda: "latency-1" not in cli(tmp_path, "fault", "list").stdout, 15)
        # PostgreSQL down: every miss and every write fails, well above the guard's 20%.
        down = cli(tmp_path, "fault", "add", "down", "link=postgres", "id=pg-down")
        assert down.returncode == 0, down.stderr
        wait_for("the halt guard", lambda: "no active fault" in cli(tmp_path, "fault", "list").stdout, 30)
        stopped = cli(tmp_path, "gameday", "stop")
        assert stopped.returncode in (0, 1), stopped.stdout + stopped.stderr
        assert "report:" in stopped.stdout
    finally:
        if pid_alive(pid):  # the test failed half-way: the game day must still go
            cli(tmp_path, "gameday", "stop", timeout=120)

    assert not pid_alive(pid)
    assert not state_path.exists()
    journal = read_jsonl(run_dir / "journal.jsonl")
    edges = [(e["event"], e.get("fault"), e.get("ok")) for e in journal if e["event"] in ("inject", "heal")]
    assert [e for e in edges if e[1] != "bad-link"] == [("inject", "latency-1", True), ("heal", "latency-1", True),
                                                       ("inject", "pg-down", True), ("heal", "pg-down", True)]
    assert [e for e in edges if e[1] == "bad-link"] == [("inject", "bad-link", False), ("heal", "bad-link", True)]
    inject_1, heal_1 = (e["t"] for e in journal if e.get("fault") == "latency-1" and e["event"] in ("inject", "heal"))
    assert 4.8 < heal_1 - inject_1 < 6.5  # --for 5, healed at the next tick
    notes = [e for e in journal if e["event"] == "note"]
    sources = [n.get("source") for n in notes]
    assert [s for s in sources if s in ("operator", "traffic", "halt")] == ["operator", "traffic", "halt"]
    halt = next(n for n in notes if n.get("source") == "halt")
    assert "error rate above 20% for 2 s" in halt["text"] and "pg-down" in halt["text"]
    pg_down_heal = next(e for e in journal if e["event"] == "heal" and e.get("fault") == "pg-down")
    assert abs(pg_down_heal["t"] - halt["t"]) < 2

    summary = json.loads((run_dir / "summary.json").read_text())
    assert [v["name"] for v in summary["verdicts"]] == ["error_rate"]
    # Every arrival due at the rates asked for (80/s, then 160/s, then 0 at the stop) was sent.
    assert summary["load"]["ok"], summary["load"]["problems"]
    assert summary["load"]["due"] == summary["load"]["sent"]

    report = (run_dir / "index.html").read_text()
    for text in ("fault latency-1", "on postgres", "fault pg-down", "p99 up while PostgreSQL is slow",
                 "traffic rate set to 160/s (was 80/s)", "halt: error rate above 20% for 2 s",
                 "injection failed on nope"):
        assert text in report, text
    # The note, the rate change and the halt are marked on the charts too.
    for kind in ("note", "rate", "halt"):
        assert re.search(rf'"kind":\s*"{kind}"', report), kind
    assert processes_naming(str(run_dir)) == []


def test_a_killed_game_day_leaves_nothing_running_and_a_new_one_starts(tmp_path: Path) -> None:
    state = start_detached(tmp_path, 50)
    added = cli(tmp_path, "fault", "add", "latency", "link=postgres", "latency_ms=100")
    assert added.returncode == 0, added.stderr
    os.kill(state["pid"], signal.SIGKILL)
    # Its load processes and servers die with it (PR_SET_PDEATHSIG), its faults with its proxy.
    wait_for("the killed game day's processes", lambda: processes_naming(state["run_dir"]) == [], 20)
    again = start_detached(tmp_path, 50)  # the state file it left names a dead process: no refusal
    assert again["pid"] != state["pid"]
    stopped = cli(tmp_path, "gameday", "stop")
    assert stopped.returncode in (0, 1), stopped.stdout + stopped.stderr
    assert processes_naming(again["run_dir"]) == []
    killed = json.loads((Path(state["run_dir"]) / "run.json").read_text())
    assert killed["status"] == "running"  # the record of a SIGKILL: no end, read back as interrupted
