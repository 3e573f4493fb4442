"""One run of one experiment: target up, load, phases with faults, verdicts, reports.

Exit codes are cachechaos.errors.ExitCode. Every injected fault is healed and the
target torn down on every exit path.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cachechaos import __version__
from cachechaos.adapters.model import AdapterSpec
from cachechaos.errors import (
    Aborted,
    BadInput,
    CachechaosError,
    EnvironmentFailure,
    ExitCode,
    RunStatus,
    aborting_on_signals,
    deferring_signals,
)
from cachechaos.experiment.events import (
    FaultInjected,
    FaultsHealed,
    PhaseEnded,
    PhaseStarted,
    Progress,
    RunEvents,
    RunFinished,
    RunStarted,
    SampleTaken,
    SourceNotSampled,
    TrafficStopped,
)
from cachechaos.experiment.final_reads import plan_for, record_final_reads
from cachechaos.experiment.model import ExperimentSpec, PhaseSpec, deep_merge
from cachechaos.experiment.sampler import Sampler
from cachechaos.experiment.scheduler import FaultInjectionError, FaultScheduler
from cachechaos.faults import FaultContext, UnsupportedFault, check_supported
from cachechaos.faults.base import UnsupportedFaultAt
from cachechaos.heal import describe, heal_previous_runs
from cachechaos.redact import redact
from cachechaos.runtime.external_spec import AttachedTopologySpec
from cachechaos.runtime.target import Target
from cachechaos.runtime.topology import DEFAULT_TOPOLOGY, TopologySpec, load_topology_or_default
from cachechaos.runtimes import AnyTopologySpec, open_target, target_class
from cachechaos.store.files import read_json, write_json
from cachechaos.store.journal import Journal
from cachechaos.store.rundir import HISTORY_DIR, JOURNAL_FILE, METRICS_FILE, RUN_FILE, SUMMARY_FILE, new_run_id
from cachechaos.store.summary import RunSummary, SuiteSummary
from cachechaos.traffic.runner import LoadRun
from cachechaos.traffic.spec import Catalog, TrafficSpec
from cachechaos.yamlmodel import line_tree, located, parse_model


@dataclass
class RunOptions:
    reports_dir: Path = Path("reports")
    run_id: str | None = None
    variant: str | None = None
    allow_destructive: bool = False
    live: bool = True
    topology: Path | None = None  # overrides the experiment's target topology file
    control: bool = False  # the matrix's control cell: the variant with its faults dry and its trigger removed
    notes: tuple[str, ...] = ()  # said in the run's summary: what a gate left out of this row on this target
    load_workers: int | None = None  # None: load processes on this machine; N: wait for N load workers (anywhere)
    master_bind: str | None = None  # HOST:PORT the load master listens on (traffic.runner.LoadRun)
    load_worker_containers: bool = False  # the load_workers start as containers on a docker topology's network


@dataclass
class RunOutcome:
    """Where a run (or a suite of runs) wrote its record, and its summary."""

    run_dir: Path
    summary: RunSummary | SuiteSummary

    @property
    def exit_code(self) -> int:
        return int(self.summary["exit_code"])


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False,
                             cwd=Path(__file__).resolve().parent)
    except OSError:
        return None
    return out.stdout.strip() or None


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if hasattr(value, "model_dump"):
        return value.model_dump()
    return value


class ExperimentRun:
    """One run, as an orchestrator: it publishes what happens (`events`) and prints nothing; the console,
    the live view and the reporters attach through `cachechaos.experiment.listeners.attach`."""

    def __init__(self, spec: ExperimentSpec, source: Path | None, options: RunOptions) -> None:
        chosen = spec.variant(options.variant) if options.variant else spec
        self.spec = (chosen.control() if options.control else chosen).scaled()
        # The default configuration is what a gate ships: it must pass; so must a control.
        self.expect = spec.variants[options.variant].expect if options.variant and not options.control else "pass"
        self.cell = "control" if options.control else "fault"
        self.source = source
        self.options = options
        name = spec.name + (f"-{options.variant}" if options.variant else "") + ("-control" if options.control else "")
        self.run_id = options.run_id or new_run_id(name)
        self.run_dir = (options.reports_dir / self.run_id).resolve()
        self.target: Target | None = None
        self.load: LoadRun | None = None
        self.sampler: Sampler | None = None
        self.scheduler: FaultScheduler | None = None
        self.journal: Journal | None = None
        self.phases: list[dict[str, Any]] = []
        self.final_reads: dict[str, str] | None = None
        # The mix's actions an adapter left out, how versions were derived, what a gate left out of the row.
        self.adapter_notes: list[str] = list(options.notes)
        self.events = RunEvents(on_failure=self._listener_failed)  # subscribe before execute() to follow the run

    def say(self, text: str, level: str = "info") -> None:
        self.events.publish(Progress(text, level))

    def _listener_failed(self, message: str) -> None:
        """A listener that raised: said in the journal (reopened after the run's end) and the summary's notes."""
        self.adapter_notes.append(message)
        if (self.run_dir / JOURNAL_FILE).exists():
            journal = self.journal if self.journal is not None and not self.journal.closed else Journal(self.run_dir / JOURNAL_FILE)
            journal.write("note", source="listener", text=message)
            if journal is not self.journal:
                journal.close()

    # -- the record --------------------------------------------------------------------------

    def _run_info(self, status: RunStatus, **extra: Any) -> dict[str, Any]:
        info = read_json(self.run_dir / RUN_FILE)
        info.update(status=status, **extra)
        return info

    def _write_run_info(self, status: RunStatus, **extra: Any) -> None:
        write_json(self.run_dir / RUN_FILE, redact(self._run_info(status, **extra)))

    def _start_record(self, topology: AnyTopologySpec) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        text = self.source.read_text() if self.source and self.source.exists() else None
        write_json(self.run_dir / RUN_FILE, redact({
            "run_id": self.run_id,
            "experiment": {"name": self.spec.name, "purpose": self.spec.purpose, "file": str(self.source) if self.source else None,
                           "text": text, "variant": self.options.variant, "spec": self.spec.model_dump(mode="json")},
            "toolkit": {"version": __version__, "git_commit": _git_commit()},
            "topology": topology.model_dump(mode="json"),
            "backend": topology.backends.config if isinstance(topology, TopologySpec) else self.spec.backend,
            "seeds": {"experiment": self.spec.seed, "traffic": self.spec.traffic.seed,
                      "postgres": topology.postgres.seed if isinstance(topology, TopologySpec) else None},
            "started_at": time.time(),
            "status": RunStatus.RUNNING,
            "pid": os.getpid(),  # `cachechaos heal` leaves a run alone while this process lives
        }))
        self.journal = Journal(self.run_dir / JOURNAL_FILE)

    # -- the run -------------------------------------------------------------------------------

    def topology_spec(self) -> AnyTopologySpec:
        path = self.options.topology
        if path is None and self.spec.target.topology:
            base = self.source.parent if self.source else Path.cwd()
            path = (base / self.spec.target.topology).resolve()
        if path is None and self.source and not DEFAULT_TOPOLOGY.exists():
            # The layout `cachechaos init` writes (and the package holds): experiments/ beside targets/,
            # so an edited targets/local.yaml applies from any working directory.
            beside = self.source.parent.parent / DEFAULT_TOPOLOGY
            path = beside if beside.is_file() else None
        base_spec = load_topology_or_default(path)
        data = deep_merge(base_spec.model_dump(), self.spec.target.overrides)
        if data.get("kind", "local") in ("local", "docker") and isinstance(data.get("backends"), dict):
            # topologies whose sample backends cachechaos runs
            data["backends"]["config"] = deep_merge(data["backends"].get("config") or {}, self.spec.backend)
        try:
            return type(base_spec).model_validate(data)
        except ValidationError:  # a bad override is the experiment's error: named at its line under target.overrides
            source = self.source or "<experiment>"
            return parse_model(type(base_spec), data, source, line_tree(source), ("target", "overrides"))

    def validate(self) -> AnyTopologySpec:
        """The topology this run will use, once the experiment is known to fit it: every fault's
        required capabilities are ones its target has (else UnsupportedFault naming the fault's line, exit 2)."""
        topology = self.topology_spec()
        cls = target_class(topology)
        if self.options.load_worker_containers and (self.options.load_workers is None
                                                    or not hasattr(cls, "start_load_workers")):
            # Said before anything starts, not after the target is up and warm.
            raise BadInput("--load-worker-containers needs --load-workers N and a topology of kind docker "
                           f"(this one is {topology.kind})")
        for i, phase in enumerate(self.spec.phases):
            for j, fault in enumerate(phase.faults):
                try:
                    check_supported(fault, cls, f"{topology.name!r} (kind {topology.kind})")
                except UnsupportedFault as exc:
                    raise located(self.source, ("phases", i, "faults", j, "type"), str(exc), UnsupportedFaultAt) from None
        if isinstance(topology, AttachedTopologySpec) and topology.adapter is not None:
            from cachechaos.traffic.adapted_mix import adapt_traffic

            try:  # an adapter that maps none of the mix is bad input, found before anything starts
                adapt_traffic(self.spec.traffic, topology.adapter)
            except ValueError as exc:
                raise located(self.source, ("traffic",), str(exc)) from None
        return topology

    def execute(self) -> RunOutcome:
        topology = self.validate()
        self.heal_previous(topology)
        self._start_record(topology)
        status, error, code = RunStatus.FINISHED, None, ExitCode.OK
        with aborting_on_signals():
            try:
                self._bring_up(topology)
                self._drive(topology)
            except CachechaosError as exc:
                status = RunStatus.ABORTED if isinstance(exc, Aborted) else RunStatus.ERROR
                error, code = str(exc), exc.exit_code
            except Exception as exc:
                status, error, code = RunStatus.ERROR, f"{type(exc).__name__}: {exc}", ExitCode.ENVIRONMENT
            finally:
                with deferring_signals() as stopped:  # a stop during teardown must not cut the heals short
                    heal_errors = self._teardown()
        if stopped and status == RunStatus.FINISHED:  # the run had ended; it is still reported as stopped
            status, error, code = RunStatus.ABORTED, str(Aborted(stopped[0])), ExitCode.ABORTED
        if heal_errors and status == RunStatus.FINISHED:
            status, error, code = RunStatus.ERROR, "heal failed: " + "; ".join(heal_errors), ExitCode.ENVIRONMENT
        assert self.journal is not None
        self.journal.write("run_end", status=status, **({"error": error} if error else {}))
        self.journal.close()
        self._write_run_info(status, ended_at=time.time(), **({"error": error} if error else {}))
        summary = self._summarize(status, error, code)
        self.events.publish(RunFinished(self.run_dir, summary))
        return RunOutcome(self.run_dir, summary)

    def heal_previous(self, topology: AnyTopologySpec) -> None:
        """What a killed run on this target left applied is undone before this one starts (cachechaos.heal)."""
        for healed in heal_previous_runs(self.options.reports_dir, topology.model_dump(mode="json")):
            for line in describe(healed):
                self.say(f"before starting: {line}", "warning")
            if healed.failed:
                raise EnvironmentFailure(f"a fault of the earlier run {healed.run_dir.name} is still applied and could "
                                         f"not be healed: {'; '.join(healed.failed.values())}")

    def _bring_up(self, topology: AnyTopologySpec) -> None:
        variant = f" [{self.options.variant}]" if self.options.variant else ""
        self.say(f"{self.spec.name}{variant}: {self.spec.purpose}", "title")
        try:
            self.target = open_target(topology, self.run_dir, progress=lambda m: self.say(m, "note"),
                                      allow_destructive=self.options.allow_destructive)
        except Aborted:
            raise
        except Exception as exc:  # a missing binary, a port, a timeout: the environment, exit 3
            raise EnvironmentFailure(f"the target did not come up: {exc}") from exc
        desc = self.target.describe()
        # A docker run also records its containers' run id, network and images (labels find them).
        docker_info = {k: desc[k] for k in ("run_id", "network", "images")} if desc.get("runtime") == "docker" else None
        self._write_run_info(RunStatus.RUNNING, endpoints=self.target.endpoints.to_dict(), binaries=desc.get("binaries"),
                             **({"docker": docker_info} if docker_info else {}))
        assert self.journal is not None
        self.journal.write("run_start", experiment=self.spec.name, variant=self.options.variant, run_id=self.run_id)

    def _drive(self, topology: AnyTopologySpec) -> None:
        self._start_traffic(topology)
        self._run_phases()
        assert self.load is not None and self.journal is not None
        self.load.stop()
        # A worker lost while the load was stopping (during the phases it made the run an error).
        for lost in self.load.lost():
            text = f"load worker {lost}: its records up to its last chunk are in the history, the rest are missing"
            self.say(text, "warning")
            self.journal.write("note", source="load", text=text)
            self.adapter_notes.append(text)
        self.events.publish(TrafficStopped())
        self._final_reads(topology)

    def _load_run(self, traffic: TrafficSpec, catalog: Catalog, adapter: AdapterSpec | None) -> LoadRun:
        """The load processes of this run (a game day's take their rate live)."""
        assert self.target is not None
        return LoadRun(traffic, list(self.target.endpoints.backends.values()), self.run_dir, self.spec.duration_s,
                       catalog, adapter, load_workers=self.options.load_workers, master_bind=self.options.master_bind,
                       launch_workers=self._worker_launcher())

    def _worker_launcher(self) -> Callable[[int], object] | None:
        """With --load-worker-containers: the docker runtime starts the load workers on the run's network."""
        if not self.options.load_worker_containers:
            return None
        start = self.target.start_load_workers  # type: ignore[union-attr]  # validate() checked the kind
        count = self.options.load_workers
        assert count is not None
        return lambda port: start(count, port)

    def _start_traffic(self, topology: AnyTopologySpec) -> None:
        """Load, sampler and fault scheduler started; RunStarted published."""
        assert self.journal is not None and self.target is not None
        spec, target = self.spec, self.target
        catalog = target.catalog()
        adapter = topology.adapter if isinstance(topology, AttachedTopologySpec) else None
        traffic = spec.traffic
        if adapter is not None:
            from cachechaos.traffic.adapted_mix import adapt_traffic

            traffic, left_out = adapt_traffic(traffic, adapter)
            for message in left_out:
                self.say(message, "warning")
                self.journal.write("note", source="adapter", text=message)
                self.adapter_notes.append(message)
        load = self.load = self._load_run(traffic, catalog, adapter)
        self.sampler = Sampler(target, self.run_dir / METRICS_FILE, load_stats=lambda: _jsonable(load.stats()),
                               metric_names=topology.metrics if isinstance(topology, AttachedTopologySpec) else None)
        self.scheduler = FaultScheduler(
            FaultContext(target, self.options.allow_destructive, self.run_dir, catalog.categories), self.journal)
        self.sampler.start()
        self.load.start()
        self.events.publish(RunStarted(self.run_id, spec.name, tuple(p.name for p in spec.phases), spec.duration_s))

    def _run_phases(self) -> None:
        for index, phase in enumerate(self.spec.phases):
            self._run_phase(index, phase)

    def _run_phase(self, index: int, phase: PhaseSpec) -> None:
        assert self.journal is not None and self.scheduler is not None and self.sampler is not None
        self.journal.write("phase_start", phase=phase.name)
        self.events.publish(PhaseStarted(phase.name, index, phase.duration_s))
        start = time.monotonic()
        end = start + phase.duration_s
        pending = sorted(phase.faults, key=lambda f: f.after_s)
        while True:
            now = time.monotonic()
            while pending and now >= start + pending[0].after_s:
                fault = pending.pop(0)
                self.scheduler.inject(fault, phase.name)
                self.events.publish(FaultInjected(fault.id or fault.type, fault.type, phase.name))
            self._tick(phase.name)
            if now >= end:
                break
            time.sleep(min(0.25, max(0.0, end - now)))
        errors = self.scheduler.heal_phase(phase.name)
        if errors:
            raise FaultInjectionError("heal failed: " + "; ".join(errors))
        if phase.faults:
            self.events.publish(FaultsHealed(phase.name))
        self.journal.write("phase_end", phase=phase.name)
        self.events.publish(PhaseEnded(phase.name))

    def _tick(self, phase: str) -> None:
        """One look at the run (about four times a second): a dead load process ends it, an unsampled
        source is said once, and the load and metrics go out as SampleTaken."""
        assert self.journal is not None and self.scheduler is not None and self.sampler is not None
        died = self.load.died() if self.load else []
        if died:
            # The run would be judged on part of its traffic: an error, never a verdict.
            raise EnvironmentFailure(f"load process {', '.join(died)} died during phase {phase}; "
                                     f"see {self.run_dir / 'nodes'}/load-*/load-*.log")
        for source, reason in self.sampler.new_gaps().items():
            self.journal.write("note", source=source, text=f"not sampled: {source}: {reason}")
            self.events.publish(SourceNotSampled(source, reason))
        self.events.publish(SampleTaken(_jsonable(self.load.stats()) if self.load else {}, self.sampler.last,
                                        tuple(self.scheduler.active_ids())))

    def _final_reads(self, topology: AnyTopologySpec) -> None:
        """Read every key written during the run from the source of truth (lost-write checks)."""
        assert self.journal is not None and self.target is not None
        plan = plan_for(topology, self.target)

        def quiesce(seconds: float) -> None:
            self.say(f"final reads after {seconds:g} s without load", "note")
            time.sleep(seconds)

        self.final_reads = record_final_reads(self.run_dir, plan, sleep=quiesce)
        self.journal.write("final_reads", how=self.final_reads)
        adapter = getattr(getattr(self.target, "spec", None), "adapter", None)
        if adapter is not None and adapter.derives_versions:
            from cachechaos.adapters.derive import derive_run_versions

            derived = derive_run_versions(self.run_dir / HISTORY_DIR).describe()
            self.say(derived, "note")
            self.journal.write("note", source="adapter", text=derived)
            self.adapter_notes.append(derived)

    def _teardown(self) -> list[str]:
        errors: list[str] = []
        if self.scheduler is not None:
            errors = self.scheduler.heal_all()
        if self.load is not None:
            self.load.stop()
        if self.sampler is not None:
            self.sampler.stop()
        if self.target is not None:
            self.target.close()
        return errors

    # -- verdicts ------------------------------------------------------------------------------------

    def _summarize(self, status: RunStatus, error: str | None, code: ExitCode) -> RunSummary:
        from cachechaos.experiment.evidence import notes

        verdicts: list[dict[str, Any]] = []
        load: dict[str, Any] | None = None
        if status == RunStatus.FINISHED and (self.run_dir / HISTORY_DIR).exists():
            from cachechaos.experiment.judging import judge

            judgement = judge(self.run_dir, self.spec.criteria, self.sampler.gaps if self.sampler else {})
            verdicts, load, status, code = judgement.verdicts, judgement.load, judgement.status, judgement.exit_code
        info = read_json(self.run_dir / RUN_FILE)
        summary: RunSummary = {
            "run_id": self.run_id, "experiment": self.spec.name, "variant": self.options.variant,
            "purpose": self.spec.purpose, "status": status, "exit_code": code, "error": error,
            "expect": self.expect, "cell": self.cell,
            "detects": self.spec.detection.criterion if self.spec.detection else None,
            "mechanism": self.spec.detection.mechanism if self.spec.detection else None,
            "trigger": self.spec.detection.trigger if self.spec.detection else None,
            "started_at": info.get("started_at"), "ended_at": info.get("ended_at"),
            "duration_s": (info.get("ended_at") or time.time()) - (info.get("started_at") or time.time()),
            "verdicts": verdicts, "load": load, "traffic": self.spec.traffic.describe(),
            "notes": notes(self.sampler.gaps if self.sampler else {}, self.final_reads) + self.adapter_notes,
            # Where staleness came from, per stale-read criterion: l1, l2, miss (PostgreSQL), none (no X-Cache).
            "stale_by_layer": {v["name"]: v["details"]["by_layer"] for v in verdicts
                               if v["check"] == "stale_read_rate" and "by_layer" in (v.get("details") or {})},
        }
        write_json(self.run_dir / SUMMARY_FILE, summary)
        return summary
