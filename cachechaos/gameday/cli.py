"""`cachechaos gameday start|stop`, and the commands that act on a running game day from any terminal:
`fault add|list|heal`, `note`, `traffic set`."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml
from rich.markup import escape

from cachechaos.console import err, out
from cachechaos.errors import BadInput, CachechaosError, ExitCode
from cachechaos.store.rundir import new_run_id

LOG_FILE = "gameday.log"
START_TIMEOUT_S = 180.0  # a docker target's images and containers take a while

state_dir_option = click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Where the game day keeps its URL and token (mode 0600) [default: $CACHECHAOS_STATE_DIR or ./.cachechaos].")


def _state_dir(state_dir: Path | None) -> Path:
    from cachechaos.runtime.state import default_state_dir

    return state_dir if state_dir is not None else default_state_dir()


def _fail(code: int, message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    sys.exit(code)


def _errors_said(fn: Callable[..., None]) -> Callable[..., None]:
    """A refused command or a game day that is not there: one line and the error's exit code."""
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except CachechaosError as exc:
            _fail(exc.exit_code, str(exc))

    return wrapper


def _client(state_dir: Path | None) -> Any:
    from cachechaos.gameday.client import GameDayClient

    return GameDayClient(_state_dir(state_dir))


# -- gameday start / stop ----------------------------------------------------------------------------

@click.group(name="gameday")
def gameday() -> None:
    """A live run: steady traffic, faults by hand from any terminal or the dashboard, halt guards, notes."""


@gameday.command("start")
@click.option("--topology", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Topology file [default: targets/local.yaml if present, else built-in defaults].")
@click.option("--traffic", "traffic_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A file with a `traffic:` section (the experiment format) [default: 100 arrivals/s].")
@click.option("--criteria", "criteria_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A file with `criteria:` (judged at the stop) and `halt_if:` (watched live).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port of the dashboard and control API on 127.0.0.1 (0: a free one).")
@click.option("--detach", is_flag=True, help="Run in the background; stop it with `cachechaos gameday stop`.")
@click.option("--reports-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Where the run directory goes.")
@click.option("--allow-destructive", is_flag=True,
              help="Let destructive faults act on external nodes the topology marks as chaos targets.")
@click.option("--load-workers", type=click.IntRange(min=1, max=1000), default=None, metavar="N",
              help="Drive the load from N workers started anywhere with `cachechaos load-worker --master HOST:PORT` "
                   "(the game day waits up to 60 s for them; exit 3 when fewer join). docs/distributed-load.md")
@click.option("--master-bind", default=None, metavar="HOST:PORT",
              help="Where the load master listens for workers [default with --load-workers: 0.0.0.0:5557].")
@click.option("--load-worker-containers", is_flag=True,
              help="With --load-workers N on a topology of kind docker: start the N workers as containers on its network.")
@click.option("--run-id", default=None, hidden=True)  # the detached child's: its parent waits in that directory
@state_dir_option
@_errors_said
def start(topology: Path | None, traffic_file: Path | None, criteria_file: Path | None, port: int, detach: bool,
          reports_dir: Path, allow_destructive: bool, load_workers: int | None, master_bind: str | None,
          load_worker_containers: bool, run_id: str | None, state_dir: Path | None) -> None:
    """Bring the target up (or attach), start steady traffic and the dashboard; print its URL and token.

    Runs until `cachechaos gameday stop` or Ctrl-C, then writes the run directory and its report
    like `cachechaos run` (exit 0 criteria met, 1 a criterion failed, 2 bad input, 3 environment).
    """
    from cachechaos.checklist import resolve
    from cachechaos.experiment.runner import RunOptions
    from cachechaos.gameday.spec import gameday_experiment
    from cachechaos.gameday.state import state_file
    from cachechaos.runtime.state import pid_alive

    sdir = _state_dir(state_dir)
    if state_file(sdir).exists():
        from cachechaos.gameday.state import read_state

        running = read_state(sdir)
        if pid_alive(running.get("pid")):
            raise BadInput(f"a game day is running already (pid {running['pid']}, {running['url']}); "
                           "stop it with `cachechaos gameday stop` or pass another --state-dir")
    topology = resolve(topology) if topology is not None else None
    spec, guards = gameday_experiment(traffic_file, criteria_file)  # bad files fail here, before anything starts
    run_id = run_id or new_run_id("gameday")
    if detach:
        _start_detached(sys.argv[1:], reports_dir, run_id, sdir)
        return
    from cachechaos.experiment.listeners import attach
    from cachechaos.gameday.driver import GameDay

    options = RunOptions(reports_dir=reports_dir, run_id=run_id, topology=topology, allow_destructive=allow_destructive,
                         live=False, load_workers=load_workers, master_bind=master_bind,
                         load_worker_containers=load_worker_containers)
    day = GameDay(spec, guards, options, sdir, port=port)
    attach(day, err, live=False)
    outcome = day.execute()
    from cachechaos.report.verdict_table import print_summary

    print_summary(outcome.summary, outcome.run_dir)
    sys.exit(outcome.exit_code)


def _start_detached(argv: list[str], reports_dir: Path, run_id: str, sdir: Path) -> None:
    from cachechaos.gameday.state import state_file
    from cachechaos.store.files import read_json

    run_dir = reports_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    args = [a for a in argv if a != "--detach"]
    args = [sys.executable, "-m", "cachechaos", *args, "--run-id", run_id, "--state-dir", str(sdir)]
    with open(run_dir / LOG_FILE, "ab") as log:
        # A session of its own: the terminal's Ctrl-C is not the game day's stop.
        child = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        state = read_json(state_file(sdir))
        if state.get("pid") == child.pid and state.get("status") == "ready":
            _say_ready(state)
            err.print(f"running detached (pid {child.pid}, log {run_dir / LOG_FILE}); "
                      "stop it with `cachechaos gameday stop`", highlight=False)
            return
        if child.poll() is not None:
            tail = "\n".join((run_dir / LOG_FILE).read_text(errors="replace").splitlines()[-20:])
            _fail(child.returncode or ExitCode.ENVIRONMENT, f"the game day did not start:\n{tail}")
        time.sleep(0.1)
    child.terminate()
    child.wait(30)
    _fail(ExitCode.ENVIRONMENT, f"the game day was not ready within {START_TIMEOUT_S:.0f} s (log: {run_dir / LOG_FILE})")


def _say_ready(state: dict[str, Any]) -> None:
    out.print(f"dashboard: {state['url']}/?token={state['token']}", highlight=False)
    out.print(f"token:     {state['token']}", highlight=False)
    out.print(f"run dir:   {state['run_dir']}", highlight=False)


@gameday.command("stop")
@click.option("--timeout", type=float, default=300.0, show_default=True,
              help="Seconds to wait for the game day to write its report and exit.")
@state_dir_option
@_errors_said
def stop(timeout: float, state_dir: Path | None) -> None:
    """Stop the running game day: heal every fault, stop the traffic, judge, write the report."""
    from cachechaos.runtime.state import pid_alive
    from cachechaos.store.files import read_json

    client = _client(state_dir)
    answer = client.call("POST", "/api/stop")
    run_dir, pid = Path(answer["run_dir"]), client.state.get("pid")
    deadline = time.monotonic() + timeout
    with err.status("stopping: healing, final reads, verdicts, report…"):
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    if pid_alive(pid):
        _fail(ExitCode.ENVIRONMENT, f"the game day (pid {pid}) is still running after {timeout:.0f} s")
    summary = read_json(run_dir / "summary.json")
    if not summary:
        _fail(ExitCode.ENVIRONMENT, f"the game day ended without a summary; see {run_dir / LOG_FILE}")
    from cachechaos.report.verdict_table import print_summary

    print_summary(summary, run_dir)
    out.print(f"report: {run_dir / 'index.html'}", highlight=False)
    sys.exit(int(summary.get("exit_code", ExitCode.ENVIRONMENT)))


# -- fault / note / traffic ----------------------------------------------------------------------------

def parse_assignments(pairs: tuple[str, ...]) -> dict[str, Any]:
    """key=value words, each value read as a YAML scalar (5 is a number, true a boolean, "5" a string)."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"{pair!r}: give parameters as key=value")
        try:
            params[key] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            params[key] = value
    return params


@click.group(name="fault")
def fault() -> None:
    """Faults of the running game day (the same types and parameters as experiment files)."""


@fault.command("add")
@click.argument("fault_type", metavar="TYPE")
@click.argument("params", nargs=-1, metavar="KEY=VALUE...")
@click.option("--for", "for_s", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Heal it by itself after this many seconds.")
@state_dir_option
@_errors_said
def fault_add(fault_type: str, params: tuple[str, ...], for_s: float | None, state_dir: Path | None) -> None:
    """Inject a fault now, e.g. `cachechaos fault add latency link=postgres latency_ms=200 --for 30`."""
    answer = _client(state_dir).call("POST", "/api/faults", {"fault": {"type": fault_type, **parse_assignments(params)},
                                                              "for_s": for_s})
    what = "done (one-shot)" if answer.get("one_shot") else "active" + (f" for {for_s:g} s" if for_s else "")
    out.print(f"{answer['id']}: {what}", highlight=False)


@fault.command("list")
@state_dir_option
@_errors_said
def fault_list(state_dir: Path | None) -> None:
    """The faults active now, with their age."""
    faults = _client(state_dir).call("GET", "/api/faults")
    if not faults:
        out.print("no active fault")
    for f in faults:
        left = f" ({f['until'] - time.time():.0f} s left)" if f.get("until") else ""
        out.print(f"{f['id']}\t{f['type']}\t{f.get('target') or '-'}\t{f['age_s']:.0f} s{left}", highlight=False)


@fault.command("heal")
@click.argument("fault_id", metavar="ID", required=False)
@click.option("--all", "heal_all", is_flag=True, help="Heal every active fault.")
@state_dir_option
@_errors_said
def fault_heal(fault_id: str | None, heal_all: bool, state_dir: Path | None) -> None:
    """Heal one fault by its id, or every fault with --all."""
    if heal_all == (fault_id is not None):
        raise BadInput("give a fault ID or --all (one of them)")
    client = _client(state_dir)
    answer = client.call("POST", "/api/heal-all") if heal_all else client.call("DELETE", f"/api/faults/{fault_id}")
    out.print(f"healed: {', '.join(answer['healed']) or 'nothing was active'}", highlight=False)


@click.command("note")
@click.argument("text")
@state_dir_option
@_errors_said
def note(text: str, state_dir: Path | None) -> None:
    """Write a line in the game day's timeline and report."""
    _client(state_dir).call("POST", "/api/notes", {"text": text})
    out.print("noted", highlight=False)


@click.group(name="traffic")
def traffic() -> None:
    """The running game day's traffic."""


@traffic.command("set")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), required=True, metavar="N",
              help="Arrivals per second over all load processes (an open-model traffic).")
@state_dir_option
@_errors_said
def traffic_set(rate: float, state_dir: Path | None) -> None:
    """Change the arrival rate now (the load processes follow within a second)."""
    answer = _client(state_dir).call("POST", "/api/traffic", {"rate_per_s": rate})
    out.print(f"rate {answer['rate_per_s']:g}/s from {answer['at_s']:.1f} s after the traffic's start", highlight=False)
