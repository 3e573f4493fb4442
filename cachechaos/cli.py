"""The `cachechaos` command line. Thin: parse, call a package, render with rich."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any, NoReturn, cast

import click
from rich.markup import escape
from rich.table import Table

from cachechaos import __version__
from cachechaos.console import err, out
from cachechaos.errors import BadInput, EnvironmentFailure, ExitCode
from cachechaos.store.rundir import new_run_id
from cachechaos.yamlmodel import ConfigFileError


def _fail(code: ExitCode, message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    sys.exit(code)


def _progress(message: str) -> None:
    err.print(f"[dim]{message}[/]", highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cachechaos")
def cli() -> None:
    """Chaos and load testing for cache architectures: L1 + Redis (Sentinel) L2 + PostgreSQL."""


# -- up / status / down ------------------------------------------------------------

state_dir_option = click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Where `up` records the running topology for `status` and `down` "
    "[default: $CACHECHAOS_STATE_DIR or ./.cachechaos].",
)


def _load_spec(topology: Path | None) -> Any:
    from cachechaos.checklist import resolve
    from cachechaos.runtime.topology import load_topology_or_default

    try:
        return load_topology_or_default(resolve(topology) if topology is not None else None)
    except ConfigFileError as exc:
        _fail(ExitCode.BAD_INPUT, str(exc))


def _state_dir(state_dir: Path | None) -> Path:
    from cachechaos.runtime.state import default_state_dir

    return state_dir if state_dir is not None else default_state_dir()


def _render_topology(desc: dict[str, Any]) -> None:
    ep = desc["endpoints"]
    table = Table(title="cachechaos topology (every address is proxied)", title_justify="left")
    table.add_column("node")
    table.add_column("client address")
    table.add_column("real address", style="dim")
    table.add_column("pid", justify="right", style="dim")
    for name, node in desc["nodes"].items():
        link = ep["links"].get(name)
        client = link["listen"] if link else (ep["proxy_api"] if node["kind"] == "toxiproxy" else node["address"])
        table.add_row(name, client, node["address"], str(node["pid"] or "-"))
    out.print(table)
    out.print(f"Sentinel master name: [bold]{ep['master_name']}[/]")
    out.print(f"PostgreSQL DSN:       {ep['postgres_dsn']}", highlight=False)
    out.print(f"Toxiproxy API:        {ep['proxy_api']}", highlight=False)
    if desc.get("healthy_after_s") is not None:
        out.print(f"healthy after {desc['healthy_after_s']:.2f}s; run directory {desc['run_dir']}", highlight=False)


@cli.command()
@click.option("--topology", "topology", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Topology file [default: targets/local.yaml if present, else built-in defaults].")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where node data and logs go [default: reports/up-<time>-<pid>].")
@click.option("--json", "as_json", is_flag=True, help="Print the endpoints as JSON on stdout.")
@click.option("--detach", is_flag=True, help="Return once healthy and leave the topology running; stop it with `cachechaos down`.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait for the topology to become healthy.")
@state_dir_option
@click.option("--supervise", is_flag=True, hidden=True)  # the detached child's mode
def up(topology: Path | None, run_dir: Path | None, as_json: bool, detach: bool, timeout: float,
       state_dir: Path | None, supervise: bool) -> None:
    """Bring the topology up, print its endpoints, and (in the foreground) tear it down on Ctrl-C."""
    from cachechaos.runtime.state import pid_alive, read_state

    spec = _load_spec(topology)
    if spec.kind in ("external", "compose"):
        _fail(ExitCode.BAD_INPUT, f"{topology}: a {spec.kind} topology is someone else's to bring up (compose: "
              "`docker compose up -d`); `cachechaos run` attaches to it")
    sdir = _state_dir(state_dir)
    existing = read_state(sdir)
    if existing and pid_alive(existing.get("pid")) and existing.get("pid") != os.getpid():
        _fail(ExitCode.ENVIRONMENT, f"a topology is already running (pid {existing['pid']}, state in {sdir}); "
              "run `cachechaos down` first or pass another --state-dir")
    run_dir = run_dir or Path("reports") / new_run_id("up")
    if detach:
        _up_detached(topology, run_dir, sdir, as_json, timeout)
        return
    _up_foreground(spec, run_dir, sdir, as_json, timeout, supervise)


def _up_foreground(spec: Any, run_dir: Path, sdir: Path, as_json: bool, timeout: float, supervise: bool) -> None:
    from cachechaos.runtime.supervisor import supervise as hold
    from cachechaos.runtimes import topology_for

    def healthy(desc: dict[str, Any]) -> None:
        if supervise:
            return
        if as_json:
            click.echo(json.dumps(desc, indent=2))
        else:
            _render_topology(desc)
            err.print("[bold green]healthy[/] — press Ctrl-C to tear down")

    try:
        hold(topology_for(spec, run_dir, progress=_progress), run_dir, sdir, timeout, detached=supervise,
             on_healthy=healthy, progress=_progress,
             waiting=lambda: err.status("bringing the topology up…") if not supervise else nullcontext())
    except EnvironmentFailure as exc:
        _fail(exc.exit_code, str(exc))
    sys.exit(ExitCode.OK)


def _up_detached(topology: Path | None, run_dir: Path, sdir: Path, as_json: bool, timeout: float) -> None:
    from cachechaos.runtime.supervisor import start_detached

    try:
        with err.status("bringing the topology up (detached)…"):
            state = start_detached(topology, run_dir, sdir, timeout)
    except EnvironmentFailure as exc:
        _fail(exc.exit_code, str(exc))
    if as_json:
        click.echo(json.dumps(state, indent=2))
    else:
        _render_topology(state)
        err.print(f"[bold green]healthy[/] — running detached (pid {state['pid']}); stop it with `cachechaos down`")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON on stdout.")
@state_dir_option
def status(as_json: bool, state_dir: Path | None) -> None:
    """Show the running topology and probe every endpoint. Exit 0 healthy, 1 degraded, 3 none running."""
    from cachechaos.runtime.endpoints import Endpoints
    from cachechaos.runtime.health import probe
    from cachechaos.runtime.state import pid_alive, read_state

    state = read_state(_state_dir(state_dir))
    if not state or not pid_alive(state.get("pid")):
        if as_json:
            click.echo(json.dumps({"running": False}))
        else:
            err.print("no topology is running (start one with `cachechaos up`)")
        sys.exit(ExitCode.ENVIRONMENT)
    probes = probe(Endpoints.from_dict(state["endpoints"]))
    healthy = all(p.ok for p in probes)
    if as_json:
        click.echo(json.dumps({
            "running": True, "healthy": healthy, "pid": state["pid"], "mode": state.get("mode"),
            "run_dir": state["run_dir"], "endpoints": state["endpoints"],
            "nodes": {name: {**n, "alive": pid_alive(n.get("pid"))} for name, n in state["nodes"].items()},
            "probes": [p.__dict__ for p in probes],
        }, indent=2))
    else:
        table = Table(title=f"topology of pid {state['pid']} ({state.get('mode')})", title_justify="left")
        for col in ("target", "address", "ok", "detail"):
            table.add_column(col)
        for p in probes:
            table.add_row(p.target, p.address, "[green]yes[/]" if p.ok else "[red]NO[/]", p.detail)
        out.print(table)
        dead = [name for name, n in state["nodes"].items() if not pid_alive(n.get("pid"))]
        if dead:
            out.print(f"[yellow]not running:[/] {', '.join(dead)}")
    sys.exit(ExitCode.OK if healthy else ExitCode.FAILED)


@cli.command()
@state_dir_option
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for a clean teardown before SIGKILL.")
@click.option("--all", "sweep_all", is_flag=True,
              help="Also remove every container, network and volume labelled by any cachechaos run on the Docker engine.")
def down(state_dir: Path | None, timeout: float, sweep_all: bool) -> None:
    """Tear down the topology started by `cachechaos up` (foreground or detached)."""
    from cachechaos.runtime.state import clear_state, leftover_pids, read_state, stop_owner

    sdir = _state_dir(state_dir)
    state = read_state(sdir)
    if not state:
        err.print("no topology is running")
    else:
        stopped = stop_owner(state, timeout)
        left = leftover_pids(state)
        for pid in left.values():
            os.kill(pid, signal.SIGKILL)
        if state.get("runtime") == "docker":
            _sweep_docker(state["run_id"])
        clear_state(sdir)
        if left:
            err.print(f"[yellow]killed leftover processes:[/] {left}")
        err.print("topology stopped" if stopped else "the topology's process had already exited; state cleared")
    if sweep_all:
        _sweep_docker(None)


def _sweep_docker(run_id: str | None) -> None:
    """Remove one run's labelled Docker resources (an owner that died before its teardown), or every run's."""
    from cachechaos.docker.engine import EngineUnavailable, connect
    from cachechaos.docker.sweep import sweep

    try:
        client = connect()
    except EngineUnavailable as exc:
        if run_id is not None:
            _fail(ExitCode.ENVIRONMENT, str(exc))
        err.print(f"no Docker engine to sweep: {exc}")
        return
    try:
        done = sweep(client, run_id)
    finally:
        client.close()
    if done.total or run_id is None:
        err.print(f"removed {len(done.containers)} container(s), {len(done.networks)} network(s), "
                  f"{len(done.volumes)} volume(s) labelled by {'run ' + run_id if run_id else 'cachechaos'}")
    for error in done.errors:
        err.print(f"[red]{error}[/]", highlight=False)


# -- doctor -----------------------------------------------------------------------------

@cli.command()
@click.option("--topology", "topology", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Topology file whose binary settings to honour.")
def doctor(topology: Path | None) -> None:
    """Show which server binaries were found, their versions, which will be used, and how to install what is missing."""
    from cachechaos.proxy.versions import UNKNOWN
    from cachechaos.runtime.binaries import ENV_VARS, INSTALL_HINTS, BinaryNotFound, Kind, found_all, resolve
    from cachechaos.runtime.process import unprivileged_user
    from cachechaos.runtime.topology import TopologySpec

    spec = _load_spec(topology)
    if isinstance(spec, TopologySpec):
        explicit: dict[str, str | None] = {"redis": spec.redis.binary, "postgres": spec.postgres.bindir,
                                           "toxiproxy": spec.proxy.binary}
    else:  # external or compose: the servers are the user's; show what a local topology would use
        explicit = {"redis": None, "postgres": None, "toxiproxy": None}
        out.print(f"kind {spec.kind}: the topology's servers are not run from this machine's binaries; "
                  "the table shows what a local topology would use", highlight=False)
    table = Table(title="cachechaos doctor", title_justify="left")
    for col in ("server", "found", "source", "version", "used"):
        table.add_column(col)
    missing = False
    notes: list[str] = []
    kinds: tuple[Kind, ...] = ("redis", "postgres", "toxiproxy")
    for kind in kinds:
        try:
            chosen = resolve(kind, explicit[kind])
        except BinaryNotFound as exc:
            table.add_row(kind, "[red]not found[/]", "", "", "")
            err.print(f"[red]{kind}:[/] {exc}")
            missing = True
            continue
        candidates = found_all(kind, explicit[kind])
        if chosen.is_builtin:
            candidates.append(chosen)
        for b in candidates:
            table.add_row(kind, b.path, b.source, b.version, "[green]✓[/]" if b.path == chosen.path else "")
            if kind == "toxiproxy" and b.version == UNKNOWN and not b.is_builtin:
                notes.append(f"{b.path}: no version from -version (the flag came in Toxiproxy 2.4.0); "
                             "cachechaos drives every 2.x server with requests all of them route")
    out.print(table)
    for note in notes:
        out.print(note, highlight=False)
    out.print(f"python {sys.version.split()[0]} at {sys.executable}", highlight=False)
    user = unprivileged_user()
    if user:
        out.print(f"running as root: PostgreSQL will run as user '{user}'")
    out.print("override with: " + ", ".join(f"{v}" for v in ENV_VARS.values()) + " or the topology file")
    _doctor_docker(spec.kind in ("docker", "compose"))
    if missing:
        out.print("install hints: " + "; ".join(f"{k}: {v}" for k, v in INSTALL_HINTS.items()))
        sys.exit(ExitCode.ENVIRONMENT)


def _doctor_docker(required: bool) -> None:
    """The Docker engine and the images of the docker runtime; a failure only when the topology is a docker one."""
    from cachechaos.docker.cli import render_status
    from cachechaos.docker.engine import EngineUnavailable, connect

    try:
        client = connect(timeout=10)
    except EngineUnavailable as exc:
        out.print(f"docker: {exc}" + ("" if required else " (only the docker runtime needs it)"), highlight=False)
        if required:
            sys.exit(ExitCode.ENVIRONMENT)
        return
    try:
        version = client.version()
        out.print(f"docker engine {version.get('Version')} (API {version.get('ApiVersion')})", highlight=False)
        render_status(client, out)
    finally:
        client.close()


# -- probe ------------------------------------------------------------------------------------------

_STATUS_STYLE = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "missing": "[yellow]missing[/]",
                 "fail": "[red]FAIL[/]", "skipped": "[dim]skipped[/]"}


@cli.command("probe")
@click.argument("topology", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-write", is_flag=True, help="Skip the PUTs (versions, no-cache bypass, cart writes).")
@click.option("--timeout", type=float, default=2.0, show_default=True, help="Seconds to wait for each answer.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON on stdout.")
def probe_command(topology: Path, no_write: bool, timeout: float, as_json: bool) -> None:
    """Check an external target against the backend contract before running experiments on it.

    Shows which checks and faults are possible against it. The write probes PUT a product's
    current price back twice (versions grow, prices do not change). Exit 0 conformant,
    1 not (with what is missing), 2 bad topology file.
    """
    from cachechaos.probe import probe_target
    from cachechaos.runtime.external_spec import ExternalTopologySpec

    spec = _load_spec(topology)
    if not isinstance(spec, ExternalTopologySpec):
        _fail(ExitCode.BAD_INPUT, f"{topology}: probe checks a target someone else runs (kind: external); "
              "a local topology is the toolkit's own sample backend")
    report = probe_target(spec, write=not no_write, timeout=timeout)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        table = Table(title=f"contract of {escape(spec.name)} ({escape(spec.backends[0])})", title_justify="left")
        for col in ("area", "probe", "required", "result", "detail"):
            table.add_column(col, no_wrap=col in ("area", "probe", "result"))
        for f in report.findings:
            table.add_row(f.area, escape(f.name), "yes" if f.required else "", _STATUS_STYLE[f.status], escape(f.detail))
        out.print(table)
        possible = Table(title="possible against this target", title_justify="left")
        for col in ("kind", "name", "possible", "how / why not"):
            possible.add_column(col, no_wrap=col != "how / why not")
        for c in report.capabilities:
            mark = {True: "[green]yes[/]", False: "[red]no[/]", None: "[yellow]untested[/]"}[c.possible]
            possible.add_row(c.kind, c.name, mark, escape(c.why))
        out.print(possible)
    if report.conformant:
        err.print("[bold green]conformant[/]")
        sys.exit(ExitCode.OK)
    err.print("[bold red]not conformant:[/] " + "; ".join(escape(m) for m in report.missing()), highlight=False)
    sys.exit(ExitCode.FAILED)


# -- run / gate / schema ----------------------------------------------------------------------------

run_options = [
    click.option("--reports-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
                 show_default=True, help="Where run directories go."),
    click.option("--topology", "topology", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="Topology file to run against, instead of the experiment's target."),
    click.option("--scale", type=click.FloatRange(min=0, min_open=True, max=1e6), default=None, metavar="X",
                 help="Observe X times as long: multiply phase lengths, fault after_s and traffic shape timings, "
                      "overriding the experiment's scale. TTLs, fault latencies, windows and bounds stay as written "
                      "(docs/scale.md)."),
    click.option("--seed", type=int, default=None, metavar="N",
                 help="Draw the load from another random sequence (ids, actions, arrival instants), overriding "
                      "traffic.seed; with gate --repeat, repeat k uses N+k-1 (default: the file's seed)."),
    click.option("--allow-destructive", is_flag=True,
                 help="Let destructive faults act on external nodes the topology marks as chaos targets."),
    click.option("--no-live", is_flag=True, help="No live view; progress lines only."),
    click.option("--load-workers", type=click.IntRange(min=1, max=1000), default=None, metavar="N",
                 help="Drive the load from N workers started anywhere with `cachechaos load-worker --master "
                      "HOST:PORT` instead of processes on this machine; the run waits up to 60 s for them "
                      "(exit 3 when fewer join). docs/distributed-load.md"),
    click.option("--master-bind", default=None, metavar="HOST:PORT",
                 help="Where the load master listens for workers [default with --load-workers: 0.0.0.0:5557; "
                      "without: a free port on 127.0.0.1]."),
    click.option("--load-worker-containers", is_flag=True,
                 help="With --load-workers N on a topology of kind docker: start the N workers as containers "
                      "load-worker-<i> on the run's network, from the toolkit's image."),
]


def _with_run_options(fn: Any) -> Any:
    for option in reversed(run_options):
        fn = option(fn)
    return fn


def _options(reports_dir: Path, topology: Path | None, allow_destructive: bool, no_live: bool, variant: str | None = None,
             control: bool = False, load_workers: int | None = None, master_bind: str | None = None,
             load_worker_containers: bool = False) -> Any:
    from cachechaos.checklist import resolve
    from cachechaos.experiment.runner import RunOptions

    return RunOptions(reports_dir=reports_dir, topology=resolve(topology) if topology is not None else None,
                      allow_destructive=allow_destructive, live=not no_live, variant=variant, control=control,
                      load_workers=load_workers, master_bind=master_bind,
                      load_worker_containers=load_worker_containers)


@cli.command()
@click.argument("experiment", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--variant", default=None, help="Run one of the experiment's variants (its backend/topology settings).")
@click.option("--control", is_flag=True,
              help="Run the control cell: faults journaled but not applied, the detection's control traffic merged in.")
@_with_run_options
def run(experiment: Path, variant: str | None, control: bool, reports_dir: Path, topology: Path | None,
        scale: float | None, seed: int | None, allow_destructive: bool, no_live: bool, load_workers: int | None,
        master_bind: str | None, load_worker_containers: bool) -> None:
    """Run one experiment: bring the target up, drive load, inject the phases' faults, check the criteria.

    Exit 0 all criteria met, 1 a criterion failed, 2 bad input, 3 environment, 130 aborted.
    """
    from cachechaos.checklist import resolve
    from cachechaos.experiment.listeners import attach
    from cachechaos.experiment.model import load_experiment
    from cachechaos.experiment.runner import ExperimentRun

    experiment = resolve(experiment)
    try:
        spec = load_experiment(experiment)
        if variant is not None:
            spec.variant(variant)
    except ConfigFileError as exc:
        _fail(ExitCode.BAD_INPUT, str(exc))
    except KeyError as exc:
        _fail(ExitCode.BAD_INPUT, str(exc.args[0]))
    if scale is not None:
        spec = spec.model_copy(update={"scale": scale})
    if seed is not None:
        spec = spec.reseeded(seed)
    try:
        options = _options(reports_dir, topology, allow_destructive, no_live, variant, control, load_workers, master_bind,
                           load_worker_containers)
        cell = ExperimentRun(spec, experiment, options)
        attach(cell, err, live=options.live)
        outcome = cell.execute()
    except BadInput as exc:  # a bad topology file, or a fault its target cannot do
        _fail(exc.exit_code, str(exc))
    _render_summary(outcome.summary, outcome.run_dir)
    _publish_summary(outcome.run_dir)
    sys.exit(outcome.exit_code)


def _render_summary(summary: Mapping[str, Any], run_dir: Path) -> None:
    from cachechaos.report.verdict_table import print_summary

    print_summary(summary, run_dir)


def _publish_summary(run_dir: Path) -> None:
    from cachechaos.report.step_summary import append_step_summary

    written = append_step_summary(run_dir)
    if written is not None:
        err.print(f"[dim]summary appended to {written}[/]", highlight=False)


@cli.command()
@click.argument("suite", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--matrix", is_flag=True, help="Run every variant (wrong and right configurations) and print the detection table.")
@click.option("--only", multiple=True, help="Run only the named experiment(s); repeatable.")
@click.option("--repeat", type=click.IntRange(1, 50), default=1, show_default=True,
              help="Run every cell this many times, each repeat with the next traffic seed; the matrix prints each "
                   "cell's range over those load sequences and its margin to its threshold.")
@click.option("--require", multiple=True, help="A row the target must be able to run: not applicable fails the gate; repeatable.")
@click.option("--strict", is_flag=True, help="Every row must be applicable to the target: not applicable fails the gate.")
@_with_run_options
def gate(suite: Path | None, matrix: bool, only: tuple[str, ...], repeat: int, require: tuple[str, ...], strict: bool,
         reports_dir: Path, topology: Path | None, scale: float | None, seed: int | None, allow_destructive: bool,
         no_live: bool, load_workers: int | None, master_bind: str | None, load_worker_containers: bool) -> None:
    """Run a suite of experiments as a release gate.

    SUITE defaults to ./experiments/checklist.yaml when present (e.g. after `cachechaos init .`),
    else the production checklist shipped in the package; `experiments/NAME.yaml` paths name
    the packaged files when the working directory has none.

    With --topology naming a service cachechaos attaches to (kind external or compose), each row
    the target can run runs with its faults and as a control with them dry; the others are listed
    as not applicable with the line to add to the topology (docs/gate-your-service.md).

    With --matrix every row runs three cells: the wrong configuration with the fault (its named
    criterion must fail), each right configuration with the fault (must pass) and the control,
    the wrong configuration with the fault dry (the named criterion must pass).

    Exit 0 when every experiment passes (with --matrix: when every cell of every run gets the
    verdict it expects and every experiment without variants passes), 1 otherwise, 2 bad input,
    3 environment, 130 aborted.
    """
    from cachechaos.checklist import default_suite, resolve
    from cachechaos.experiment.suite import run_suite

    suite = resolve(suite) if suite is not None else default_suite()
    if not suite.exists():
        _fail(ExitCode.BAD_INPUT, f"{suite}: no such suite file")
    try:
        outcome = run_suite(suite, _options(reports_dir, topology, allow_destructive, no_live, load_workers=load_workers,
                                                  master_bind=master_bind, load_worker_containers=load_worker_containers),
                                         err,
                            matrix=matrix, only=list(only) or None, scale=scale, repeat=repeat, seed=seed,
                            require=list(require) or None, strict=strict)
    except BadInput as exc:
        _fail(exc.exit_code, str(exc))
    _render_suite(outcome.summary, outcome.run_dir)
    _publish_summary(outcome.run_dir)
    sys.exit(outcome.exit_code)


def _render_suite(summary: Mapping[str, Any], run_dir: Path) -> None:
    from cachechaos.report.junit import fmt_value

    matrix = summary["matrix"]
    table = Table(title=f"suite {summary['suite']}{' (matrix)' if matrix else ''}: {summary['status'].upper()}", title_justify="left")
    for col in ["experiment", "variant", "cell", "expect", "result", "measured (required)"] + (["as expected"] if matrix else []):
        table.add_column(col, no_wrap=col in ("experiment", "variant"))
    for row in summary["runs"]:
        measured = "; ".join(f"{fmt_value(v.get('measured'))} ({v.get('threshold')})" for v in row.get("verdicts", [])) or (row.get("error") or "; ".join(row.get("missing") or []))
        result = {"passed": "[green]PASS[/]", "failed": "[red]FAIL[/]"}.get(row["status"], f"[yellow]{row['status'].upper()}[/]")
        cells = [row["experiment"], row.get("variant") or "-", row.get("cell") or "fault", row.get("expect") or "-", result,
                 escape(measured)]
        if matrix:
            cells.append({True: "[green]yes[/]", False: "[red]NO[/]", None: "-"}[row.get("detected")])
        table.add_row(*cells)
    out.print(table)
    if matrix and summary.get("rows"):
        _render_matrix(summary["rows"], int(summary.get("repeat") or 1))
    if summary.get("applicability"):
        _render_applicability(summary["applicability"], str(summary.get("target") or ""))
    out.print(f"suite directory: {run_dir} ({summary['duration_s']:.0f}s)", highlight=False)


def _render_applicability(rows: list[dict[str, Any]], target: str) -> None:
    table = Table(title=f"rows against {target}: with the faults, and as a control with them dry", title_justify="left")
    for col in ("row", "applicable", "with faults", "control", "finding / what to add"):
        table.add_column(col)
    for row in rows:
        what = row.get("finding") or "; ".join(row.get("missing") or row.get("left_out") or [])
        table.add_row(row["experiment"], "yes" if row["applicable"] else "[yellow]NOT APPLICABLE[/]",
                      str(row.get("fault") or "-"), str(row.get("control") or "-"), escape(what))
    out.print(table)


def _render_matrix(rows: list[dict[str, Any]], repeat: int) -> None:
    """One line per row: the named criterion, and per cell the range over repeats and the margin."""
    from cachechaos.report.fmt import matrix_cell_text

    table = Table(title=f"detection matrix ({repeat} run(s) per cell; margin: distance of the worst run to the "
                        "threshold, on the side the cell must be on)", title_justify="left")
    for col in ("row", "criterion (threshold)", "wrong + fault → FAIL", "right + fault → PASS", "control → PASS", "row"):
        table.add_column(col)
    for row in rows:
        by_kind: dict[str, list[str]] = {}
        threshold = ""
        for cell in row["cells"]:
            text = matrix_cell_text(cell)
            colour = "green" if cell["ok"] else "red"
            by_kind.setdefault(cell["cell"], []).append(f"[{colour}]{escape(text)}[/]")
            threshold = threshold or str(cell.get("threshold") or "")
        right = by_kind.get("right", []) + by_kind.get("gate", [])
        control = by_kind.get("control") or (["[red]missing[/]"] if row["missing"] else ["-"])
        criterion = f"{row.get('criterion') or '(any criterion)'} ({threshold})"
        if row.get("trigger"):
            criterion += f"; trigger: {row['trigger']}"
        table.add_row(row["experiment"], escape(criterion), "\n".join(by_kind.get("wrong", ["-"])), "\n".join(right or ["-"]),
                      "\n".join(control), "[green]OK[/]" if row["ok"] else "[red]NO[/]")
    out.print(table)


@cli.command()
@click.option("--kind", type=click.Choice(["experiment", "suite", "topology"]), default="experiment", show_default=True,
              help="Which file format's schema to print.")
def schema(kind: str) -> None:
    """Print the JSON Schema of experiment, suite or topology files (for editors)."""
    from pydantic import TypeAdapter

    from cachechaos.experiment.model import ExperimentSpec, SuiteSpec
    from cachechaos.runtime.compose_spec import ComposeTopologySpec
    from cachechaos.runtime.external_spec import ExternalTopologySpec
    from cachechaos.runtime.topology import DockerTopologySpec, TopologySpec

    if kind == "experiment":
        data = ExperimentSpec.model_json_schema()
    elif kind == "suite":
        data = SuiteSpec.model_json_schema()
    else:
        data = TypeAdapter(TopologySpec | DockerTopologySpec | ExternalTopologySpec | ComposeTopologySpec).json_schema()
    click.echo(json.dumps(data, indent=2))


# -- the packaged checklist: init / list ---------------------------------------------------

@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--ci", type=click.Choice(["github", "gitlab", "github-compose", "gitlab-compose", "none"]), default="github",
              show_default=True,
              help="Which CI recipe to add (GitHub Actions: .github/workflows/cachechaos.yml; GitLab: .gitlab-ci.yml). "
                   "The -compose ones bring up your compose project (targets/compose/), gate it and take it down.")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def init(directory: Path, ci: str, force: bool) -> None:
    """Copy the packaged experiments, suites, topology and a CI recipe into DIRECTORY to edit."""
    from cachechaos.checklist import CiChoice, InitError, init_project

    try:
        written = init_project(directory, ci=cast(CiChoice, ci), force=force)  # click.Choice checked it
    except InitError as exc:
        _fail(ExitCode.BAD_INPUT, str(exc))
    for path in written:
        out.print(f"  {path}", highlight=False)
    out.print(f"wrote {len(written)} files; run the checklist with "
              f"`cachechaos gate {directory / 'experiments' / 'checklist.yaml'}`", highlight=False)


@cli.command("list")
def list_experiments() -> None:
    """Show the experiments shipped in the package, their purpose, variants and suites."""
    from cachechaos.checklist import packaged_experiments

    table = Table(title="packaged experiments (cachechaos init copies them)", title_justify="left")
    for col in ("experiment", "purpose", "variants (expect)", "suites"):
        table.add_column(col, no_wrap=col == "experiment")
    for e in packaged_experiments():
        variants = ", ".join(f"{name} ({expect})" for name, expect in e.variants.items()) or "-"
        table.add_row(e.name, e.purpose, variants, ", ".join(e.suites) or "-")
    out.print(table)


@cli.command()
@click.option("--out", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/reference"),
              show_default=True, help="Where the reference pages go.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when a page differs from what the code generates.")
def docs(directory: Path, check: bool) -> None:
    """Generate the reference pages (docs/reference/): commands, faults, checks, topology files."""
    from cachechaos.reference_docs import stale_pages, write_pages

    if check:
        stale = stale_pages(directory, cli)
        if stale:
            _fail(ExitCode.FAILED, f"out of date in {directory}: {', '.join(stale)} (run `cachechaos docs`)")
        out.print(f"{directory}: up to date", highlight=False)
        return
    for path in write_pages(directory, cli):
        out.print(f"wrote {path}", highlight=False)


def main() -> None:
    cli()


# Subsystems keep their own command groups next to their code.
from cachechaos.backend.cli import backend  # noqa: E402
from cachechaos.docker.cli import images  # noqa: E402
from cachechaos.heal_cli import heal  # noqa: E402
from cachechaos.load_cli import load_worker  # noqa: E402
from cachechaos.proxy.cli import proxy  # noqa: E402
from cachechaos.report.cli import report  # noqa: E402
from cachechaos.validate_cli import validate  # noqa: E402

cli.add_command(proxy)
cli.add_command(backend)
cli.add_command(report)
cli.add_command(images)
cli.add_command(validate)
cli.add_command(heal)
cli.add_command(load_worker)
from cachechaos.gameday import cli as gameday_cli  # noqa: E402

for group in (gameday_cli.gameday, gameday_cli.fault, gameday_cli.note, gameday_cli.traffic):
    cli.add_command(group)
