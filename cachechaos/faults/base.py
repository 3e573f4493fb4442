"""One interface for every fault (the nemesis), and a registry by type name.

Shaped like Toxiproxy's toxics: each fault type is a small module with a
parameter model and a class with `inject()` and `heal()`. The scheduler owns
the guarantees: both edges go to the journal, and every injected fault is
healed on every exit path.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import Field

from cachechaos.errors import BadInput
from cachechaos.runtime.target import (
    Killable,
    Outlives,
    ProxyControl,
    RedisAdmin,
    Restartable,
    Target,
    missing_capabilities,
    need,
)
from cachechaos.yamlmodel import ConfigFileError, Strict


class FaultRefused(BadInput, RuntimeError):
    """The safety rules forbid this fault against this node."""


class UnsupportedFault(BadInput):
    """The experiment asks a fault of a target without the capability it needs (found at validation)."""


class UnsupportedFaultAt(ConfigFileError, UnsupportedFault):
    """UnsupportedFault naming the experiment file's line and field of the fault."""


class FaultParams(Strict):
    type: str
    id: str | None = Field(None, description="name in the journal and criteria (default: <type>-<n>)")
    after_s: float = Field(0.0, ge=0, description="inject this long after the phase starts")
    dry: bool = Field(False, description="journal both edges at their instants but do not act: the control cell of "
                                          "the detection matrix, where time-anchored criteria still find their fault")


P = TypeVar("P", bound=FaultParams)


@dataclass
class FaultContext:
    target: Target
    # Destructive faults against nodes the toolkit did not start need the operator's --allow-destructive.
    allow_destructive: bool = False
    run_dir: Path | None = None  # where faults that act as clients record their requests
    catalog_categories: int = 0

    # The target as each capability, for the faults that declared it in `requires` (validated before the run).
    @property
    def proxies(self) -> ProxyControl:
        return need(self.target, ProxyControl)

    @property
    def redis(self) -> RedisAdmin:
        return need(self.target, RedisAdmin)

    @property
    def processes(self) -> Killable:
        return need(self.target, Killable)

    @property
    def deploys(self) -> Restartable:
        return need(self.target, Restartable)


class Fault(ABC, Generic[P]):
    type: ClassVar[str]
    params_model: ClassVar[builtins.type[FaultParams]]
    one_shot: ClassVar[bool] = False  # acts at an instant; heal() only records the edge
    destructive: ClassVar[bool] = False
    # The capabilities (cachechaos.runtime.target) a target must have for this fault to act on it.
    requires: ClassVar[tuple[builtins.type, ...]] = ()

    def __init__(self, params: P, ctx: FaultContext) -> None:
        self.params = params
        self.ctx = ctx
        self.id = params.id or params.type
        self.node: str | None = None  # the node acted on, once a role is resolved
        # Set by the scheduler: journals each heal step before the change it undoes (cachechaos.heal).
        self.on_heal_step: Callable[[dict[str, Any]], None] | None = None

    def will_heal(self, step: dict[str, Any]) -> None:
        """Record how to undo the change about to be made (a `cachechaos.heal` step), so that
        `cachechaos heal` can undo it if the toolkit dies before heal(). Call it before the change."""
        if self.on_heal_step is not None:
            self.on_heal_step(step)

    def will_heal_node(self, change: str, node: str) -> None:
        """Journal how to undo `change` (kill, pause, disconnect) of `node` when the node outlives the toolkit
        (a compose project's container stays paused after a SIGKILL); the toolkit's own nodes die with it."""
        if isinstance(self.ctx.target, Outlives):
            for step in self.ctx.target.heal_steps(change, node):
                self.will_heal(step)

    @property
    def target_name(self) -> str:
        """The link or node acted on, for the journal."""
        return self.node or str(getattr(self.params, "node", ""))

    def resolve_node(self, spec: str) -> str:
        """Resolve a role (primary, replica) to the node it names now, and apply the safety rules."""
        self.node = resolve_redis_node(self.ctx.target, spec)
        self.check_allowed(self.node)
        return self.node

    def check_allowed(self, node: str) -> None:
        if self.destructive and not self.ctx.target.destructive_allowed(node):
            raise FaultRefused(
                f"{self.type} against {node} refused: destructive faults only act on nodes cachechaos "
                "started, or on nodes the topology marks as chaos targets with --allow-destructive"
            )

    @abstractmethod
    def inject(self) -> dict[str, Any]:
        """Apply the fault; return details for the journal."""

    def heal(self) -> dict[str, Any]:
        """Undo the fault; must be safe to call after a failed or partial inject."""
        return {}


REGISTRY: dict[str, type[Fault[Any]]] = {}


def register(cls: type[Fault[Any]]) -> type[Fault[Any]]:
    REGISTRY[cls.type] = cls
    return cls


def check_supported(params: FaultParams, target_cls: builtins.type, target_name: str) -> None:
    """Raise UnsupportedFault when `target_cls` lacks a capability the fault of `params` requires."""
    fault = REGISTRY[params.type]
    missing = missing_capabilities(target_cls, fault.requires)
    if missing:
        names = ", ".join(c.__name__ for c in missing)
        raise UnsupportedFault(f"fault {params.id or params.type!r} ({params.type}) needs {names}, which target {target_name} "
                               f"({target_cls.__name__}) cannot do")


def resolve_redis_node(target: Target, node: str) -> str:
    """`primary` / `replica` name roles as Sentinel sees them now; anything else is a node name."""
    if node == "primary":
        found = need(target, RedisAdmin).primary_name()
        if found is None:
            raise RuntimeError("no Sentinel names a primary right now")
        return found
    if node == "replica":
        admin = need(target, RedisAdmin)
        primary = admin.primary_name()
        replicas = [n for n in admin.redis_names() if n != primary]
        if not replicas:
            raise RuntimeError("the topology has no replica")
        return replicas[0]
    return node
