"""Injecting and healing faults, with both edges journaled and a heal guaranteed on every exit path."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from cachechaos.errors import Aborted, EnvironmentFailure
from cachechaos.faults import Fault, FaultContext, FaultParams, FaultRefused, build_fault
from cachechaos.heal import HEAL_STEP
from cachechaos.redact import redact
from cachechaos.store.journal import Journal


@dataclass
class ActiveFault:
    fault: Fault[Any]
    phase: str


class FaultInjectionError(EnvironmentFailure, RuntimeError):
    """A fault could not be injected: the run cannot say anything about that fault."""


class FaultScheduler:
    def __init__(self, ctx: FaultContext, journal: Journal) -> None:
        self.ctx = ctx
        self.journal = journal
        self.active: list[ActiveFault] = []

    def _edge(self, event: str, entry: ActiveFault, ok: bool, details: dict[str, Any], error: str | None = None,
              started: float | None = None) -> None:
        fields: dict[str, Any] = {
            "fault": entry.fault.id, "type": entry.fault.type, "phase": entry.phase,
            "target": entry.fault.target_name, "ok": ok, "one_shot": entry.fault.one_shot,
            "params": redact(entry.fault.params.model_dump(exclude={"type", "id"})), "details": redact(details),
        }
        if error:
            fields["error"] = error
        if started is not None:
            # The edge is timed from when the fault began to act (a restart's inject returns only once
            # the instances are back); when it finished acting is kept next to it.
            fields.update(t=started, applied_at=time.time())
        self.journal.write(event, **fields)

    def inject(self, params: FaultParams, phase: str) -> Fault[Any]:
        entry = ActiveFault(build_fault(params, self.ctx), phase)
        # Registered before inject: a half-applied fault still gets healed.
        self.active.append(entry)
        fault_id = entry.fault.id

        def journal_step(step: dict[str, Any]) -> None:
            self.journal.write(HEAL_STEP, fault=fault_id, step=redact(step))

        entry.fault.on_heal_step = journal_step
        started = time.time()
        try:
            details = {"dry": True} if params.dry else entry.fault.inject()
        except (FaultRefused, Aborted) as exc:
            self._edge("inject", entry, False, {}, str(exc), started)
            # The safety rules said no (bad input), or the operator stopped the run mid-inject (exit 130):
            # not a broken environment. Either way the fault stays active, for heal_all to undo what it did.
            raise
        except Exception as exc:
            self._edge("inject", entry, False, {}, f"{type(exc).__name__}: {exc}", started)
            raise FaultInjectionError(f"fault {entry.fault.id} ({entry.fault.type}) could not be injected: {exc}") from exc
        self._edge("inject", entry, True, details, started=started)
        if entry.fault.one_shot:
            self.heal(entry.fault)
        return entry.fault

    def heal(self, fault: Fault[Any]) -> None:
        entry = next(e for e in self.active if e.fault is fault)
        index = self.active.index(entry)
        self.active.remove(entry)
        try:
            details = {"dry": True} if fault.params.dry else fault.heal()
        except Aborted:
            self.active.insert(index, entry)  # stopped mid-heal: still applied, for heal_all to finish
            raise
        except Exception as exc:
            self._edge("heal", entry, False, {}, f"{type(exc).__name__}: {exc}")
            raise
        self._edge("heal", entry, True, details)

    def heal_phase(self, phase: str) -> list[str]:
        """Heal the phase's faults at its end; a SIGINT/SIGTERM meanwhile stops the run (Aborted), whose
        teardown (heal_all) heals what is left."""
        return self._heal_each([e for e in self.active if e.phase == phase])

    def heal_all(self) -> list[str]:
        """Heal everything still active, newest first; one failing heal does not stop the others.
        (The run's teardown calls it with SIGINT and SIGTERM deferred.)"""
        return self._heal_each(list(self.active))

    def _heal_each(self, entries: list[ActiveFault]) -> list[str]:
        errors = []
        for entry in reversed(entries):
            try:
                self.heal(entry.fault)
            except Aborted:
                raise
            except Exception as exc:
                errors.append(f"{entry.fault.id}: {exc}")
        return errors

    def active_ids(self) -> list[str]:
        return [e.fault.id for e in self.active]
