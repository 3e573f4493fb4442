"""The game day: the runner's run with its phase loop replaced by commands from the operator.

Everything else is the experiment runner's (cachechaos.experiment.runner): the record, the
target up or attached, the healing of what an earlier run left applied, the load, the sampler,
the fault scheduler and its journal, the teardown that heals every fault on every exit path,
judging and the reports. The loop here ticks four times a second like a phase does, and between
ticks runs what the control API queued: faults in and out, notes, rate changes, the stop.
Ctrl-C (or SIGTERM) stops a game day the way `cachechaos gameday stop` does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from cachechaos.adapters.model import AdapterSpec
from cachechaos.errors import Aborted, RunStatus
from cachechaos.experiment.events import (
    FaultHealed,
    FaultInjected,
    Halted,
    NoteAdded,
    PhaseEnded,
    PhaseStarted,
    RateChanged,
    SampleTaken,
)
from cachechaos.experiment.model import ExperimentSpec
from cachechaos.experiment.runner import ExperimentRun, RunOptions
from cachechaos.experiment.scheduler import FaultInjectionError
from cachechaos.faults import Fault, FaultRefused, FaultSpec, UnsupportedFault, check_supported
from cachechaos.gameday.control import Command, CommandError, Commands
from cachechaos.gameday.figures import LiveFigures
from cachechaos.gameday.server import ControlServer
from cachechaos.gameday.spec import PHASE, HaltGuard
from cachechaos.gameday.state import clear_state, state_file, write_state
from cachechaos.traffic.arrivals import open_shape, total_rate
from cachechaos.traffic.rate_steps import LEAD_S, POLL_S, append_step
from cachechaos.traffic.runner import LoadRun
from cachechaos.traffic.spec import Catalog, TrafficSpec

TICK_S = 0.25
FAULT_MODEL: TypeAdapter[Any] = TypeAdapter(FaultSpec)


def validate_fault(data: dict[str, Any]) -> Any:
    """A fault's parameters through the experiment file's model; CommandError names what is wrong."""
    try:
        return FAULT_MODEL.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'type'}: {e['msg']}" for e in exc.errors())
        raise CommandError(f"fault {data.get('type')!r}: {problems}") from None


class GameDay(ExperimentRun):
    def __init__(self, spec: ExperimentSpec, guards: list[HaltGuard], options: RunOptions, state_dir: Path,
                 host: str = "127.0.0.1", port: int = 0, on_ready: Callable[[dict[str, Any]], None] | None = None) -> None:
        super().__init__(spec, None, options)
        self.guards = guards
        self.state_dir = state_dir
        self.host, self.port = host, port
        self.on_ready = on_ready
        self.commands = Commands()
        self.figures = LiveFigures(self.run_dir, guards, self.spec.criteria)
        self.server: ControlServer | None = None
        self.expiry: dict[str, float] = {}  # fault id -> when its --for ends (time.monotonic)
        self._counts: dict[str, int] = {}
        self._stopping = False
        self.events.subscribe(SampleTaken, self.figures.on_sample)

    # -- the runner's pieces, for a game day ------------------------------------------------------

    def _load_run(self, traffic: TrafficSpec, catalog: Catalog, adapter: AdapterSpec | None) -> LoadRun:
        assert self.target is not None
        shape = open_shape(traffic)
        self.figures.rate_per_s = total_rate(shape, 0.0) if shape is not None else None
        return LoadRun(traffic, list(self.target.endpoints.backends.values()), self.run_dir, self.spec.duration_s,
                       catalog, adapter, live_rate=shape is not None, load_workers=self.options.load_workers,
                       master_bind=self.options.master_bind, launch_workers=self._worker_launcher())

    def _run_phases(self) -> None:
        assert self.journal is not None
        self.journal.write("phase_start", phase=PHASE)
        self.events.publish(PhaseStarted(PHASE, 0, self.spec.duration_s))
        self._serve()
        try:
            self._loop()
        except Aborted:  # Ctrl-C or SIGTERM: the operator's stop, not a failure
            self.say("stopping the game day (signal)", "note")
        self._stopping = True
        self.commands.refuse_pending("the game day is stopping")
        self._end_traffic()
        errors = self._heal_all("the game day stopped")
        if errors:
            raise FaultInjectionError("heal failed: " + "; ".join(errors))
        self.journal.write("phase_end", phase=PHASE)
        self.events.publish(PhaseEnded(PHASE))

    def _teardown(self) -> list[str]:
        if self.server is not None:
            self.server.close()
        clear_state(self.state_dir)
        self.figures.close()
        return super()._teardown()

    # -- the loop --------------------------------------------------------------------------------------

    def _serve(self) -> None:
        self.server = ControlServer(self.run_id, self.commands, self.figures, type(self.target), self.host, self.port)
        self.server.start()
        state = {"pid": os.getpid(), "url": self.server.url, "token": self.server.token,
                 "run_dir": str(self.run_dir), "run_id": self.run_id, "status": "ready"}
        write_state(self.state_dir, state)
        self._write_run_info(RunStatus.RUNNING, gameday={"url": self.server.url})
        self.say(f"game day dashboard: {self.server.url}/?token={self.server.token}", "title")
        self.say(f"control token: {self.server.token} (also in {state_file(self.state_dir)}, readable by you only)", "note")
        self.figures.add("start", "game day started")
        if self.on_ready is not None:
            self.on_ready(state)

    def _loop(self) -> None:
        next_tick = time.monotonic()
        while not self._stopping:
            command = self.commands.next(next_tick - time.monotonic())
            if command is not None:
                self._run(command)
            if time.monotonic() < next_tick:
                continue
            next_tick = time.monotonic() + TICK_S
            for fault_id, until in list(self.expiry.items()):
                if time.monotonic() >= until:
                    self._heal(fault_id, "its --for ended")
            self._tick(PHASE)
            for guard, reason in self.figures.breached_guards():
                self._halt(guard, reason)

    def _run(self, command: Command) -> None:
        try:
            result = getattr(self, f"_cmd_{command.kind}")(**command.args)
        except Aborted:
            command.answer.set_exception(CommandError("the game day is stopping", 409))
            raise
        except CommandError as exc:
            command.answer.set_exception(exc)
        except (FaultRefused, UnsupportedFault) as exc:
            command.answer.set_exception(CommandError(str(exc)))
        except Exception as exc:  # an inject that failed: said to the caller, the game day goes on
            command.answer.set_exception(CommandError(f"{type(exc).__name__}: {exc}", 502))
        else:
            command.answer.set_result(result)

    # -- commands (the main thread) -----------------------------------------------------------------

    def _cmd_add_fault(self, data: dict[str, Any], for_s: float | None = None) -> dict[str, Any]:
        assert self.scheduler is not None and self.target is not None
        if for_s is not None and for_s <= 0:
            raise CommandError(f"--for must be positive, not {for_s}")
        params = validate_fault(data)
        if params.after_s:
            raise CommandError("after_s has no meaning in a game day: a fault acts when it is added")
        check_supported(params, type(self.target), f"of this game day (kind {type(self.target).__name__})")
        if params.id is None:
            self._counts[params.type] = self._counts.get(params.type, 0) + 1
            params.id = f"{params.type}-{self._counts[params.type]}"
        if params.id in self.scheduler.active_ids():
            raise CommandError(f"a fault {params.id!r} is active already", 409)
        try:
            fault = self.scheduler.inject(params, PHASE)
        except (FaultInjectionError, FaultRefused):
            self._forget_failed(params.id)
            raise
        until = time.time() + for_s if for_s else None
        self.events.publish(FaultInjected(fault.id, fault.type, PHASE))
        if fault.one_shot:
            self.figures.add("fault", f"{fault.id} ({fault.type}) on {fault.target_name or 'the target'}: done")
            return {"id": fault.id, "type": fault.type, "one_shot": True}
        self.figures.fault_on(fault.id, fault.type, fault.target_name, until)
        if for_s:
            self.expiry[fault.id] = time.monotonic() + for_s
        return {"id": fault.id, "type": fault.type, "target": fault.target_name, "for_s": for_s}

    def _forget_failed(self, fault_id: str) -> None:
        """A fault whose inject failed or was refused stays registered to be healed (a half-applied one):
        heal it now, so that it is neither listed as active nor keeps its id."""
        assert self.scheduler is not None
        for entry in list(self.scheduler.active):
            if entry.fault.id == fault_id:
                try:
                    self.scheduler.heal(entry.fault)
                except Exception as exc:  # said in the journal by the scheduler; the teardown heals again
                    self.say(f"heal of the failed fault {fault_id} failed: {exc}", "warning")

    def _active(self, fault_id: str) -> Fault[Any]:
        assert self.scheduler is not None
        for entry in self.scheduler.active:
            if entry.fault.id == fault_id:
                return entry.fault
        raise CommandError(f"no active fault {fault_id!r}; active: {', '.join(self.scheduler.active_ids()) or 'none'}",
                           404)

    def _heal(self, fault_id: str, why: str) -> None:
        assert self.scheduler is not None
        fault = self._active(fault_id)
        self.expiry.pop(fault_id, None)
        self.scheduler.heal(fault)
        self.figures.fault_off(fault_id, why)
        self.events.publish(FaultHealed(fault_id, why))

    def _heal_all(self, why: str) -> list[str]:
        assert self.scheduler is not None
        errors = []
        for fault_id in reversed(self.scheduler.active_ids()):
            try:
                self._heal(fault_id, why)
            except Exception as exc:
                errors.append(f"{fault_id}: {exc}")
        return errors

    def _cmd_heal(self, fault_id: str) -> dict[str, Any]:
        self._heal(fault_id, "by hand")
        return {"healed": [fault_id]}

    def _cmd_heal_all(self) -> dict[str, Any]:
        assert self.scheduler is not None
        ids = self.scheduler.active_ids()
        errors = self._heal_all("heal everything")
        if errors:
            raise CommandError("heal failed: " + "; ".join(errors), 502)
        return {"healed": ids}

    def _cmd_list(self) -> list[dict[str, Any]]:
        return self.figures.snapshot()["faults"]

    def _cmd_note(self, text: str) -> dict[str, Any]:
        text = text.strip()
        if not text:
            raise CommandError("a note needs some text")
        assert self.journal is not None
        self.journal.write("note", source="operator", text=text)
        self.figures.add("note", text)
        self.events.publish(NoteAdded(text))
        return {"note": text}

    def _cmd_rate(self, rate_per_s: float) -> dict[str, Any]:
        assert self.load is not None and self.journal is not None
        if self.load.rates_path is None or self.load.started_at is None:
            raise CommandError("the traffic is a closed model (users): only an open model (shape kind arrival...) "
                               "takes a rate", 409)
        if not rate_per_s > 0:
            raise CommandError(f"the rate must be positive, not {rate_per_s}")
        before = self.figures.rate_per_s
        step = append_step(self.load.rates_path, time.time() - self.load.started_at + LEAD_S, rate_per_s)
        text = f"traffic rate set to {rate_per_s:g}/s" + (f" (was {before:g}/s)" if before is not None else "")
        self.journal.write("note", source="traffic", text=text, rate_per_s=rate_per_s, at_s=step.at_s)
        self.figures.rate_per_s = rate_per_s
        self.figures.add("traffic", text)
        self.events.publish(RateChanged(rate_per_s, step.at_s))
        return {"rate_per_s": rate_per_s, "at_s": step.at_s}

    def _cmd_stop(self) -> dict[str, Any]:
        self._stopping = True
        self.figures.add("stop", "stop asked")
        return {"stopping": True, "run_dir": str(self.run_dir)}

    def _halt(self, guard: HaltGuard, reason: str) -> None:
        assert self.journal is not None
        healed = list(self.scheduler.active_ids()) if self.scheduler else []
        errors = self._heal_all(f"halt: {guard.label}")
        text = (f"halt: {guard.label}: {reason}; healed {', '.join(healed) or 'nothing (no fault was active)'}"
                + (f"; heal failed: {'; '.join(errors)}" if errors else ""))
        self.journal.write("note", source="halt", text=text, guard=guard.label)
        self.figures.add("halt", text)
        self.say(text, "warning")
        self.events.publish(Halted(guard.label, reason))

    def _end_traffic(self) -> None:
        """The open model's rate goes to 0 a moment ahead, so what was due ends where the load did."""
        load = self.load
        if load is None or load.rates_path is None or load.started_at is None:
            return
        append_step(load.rates_path, time.time() - load.started_at + LEAD_S, 0.0)
        time.sleep(LEAD_S + POLL_S)
