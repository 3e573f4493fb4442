"""Faults on processes: kill a node (restarted on heal), restart one, restart every backend (cold L1)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cachechaos.faults.base import Fault, FaultParams, register
from cachechaos.runtime.target import Killable, Restartable


class KillParams(FaultParams):
    type: Literal["kill"] = "kill"
    node: str = Field(description="primary, replica or a node name (redis-1, sentinel-2, postgres, backend-1)")
    restart_on_heal: bool = True


@register
class Kill(Fault[KillParams]):
    """SIGKILL a node; heal starts it again (and waits until it answers)."""

    type = "kill"
    params_model = KillParams
    requires = (Killable,)
    destructive = True

    def inject(self) -> dict[str, Any]:
        node = self.resolve_node(self.params.node)
        # A node the experiment leaves dead is no change to undo; a restart's (no such option) is, until it starts.
        if getattr(self.params, "restart_on_heal", True):
            self.will_heal_node("kill", node)
        self.ctx.processes.kill_node(node)
        return {"node": node}

    def heal(self) -> dict[str, Any]:
        node = self.node
        if node is None or not self.params.restart_on_heal:
            return {"restarted": False}
        self.ctx.processes.start_node(node)
        return {"restarted": True, "node": node}


class RestartParams(FaultParams):
    type: Literal["restart"] = "restart"
    node: str


@register
class Restart(Kill):
    """Kill and start again at once (a crash with a supervisor)."""

    type = "restart"
    params_model = RestartParams  # type: ignore[assignment]
    one_shot = True

    def inject(self) -> dict[str, Any]:
        details = super().inject()
        self.ctx.processes.start_node(details["node"])
        return details

    def heal(self) -> dict[str, Any]:
        return {}


class RestartBackendsParams(FaultParams):
    type: Literal["restart_backends"] = "restart_backends"


@register
class RestartBackends(Fault[RestartBackendsParams]):
    """Restart every backend instance: a deploy, every L1 cold (with or without warm-up, per config)."""

    type = "restart_backends"
    params_model = RestartBackendsParams
    requires = (Restartable,)
    one_shot = True

    @property
    def target_name(self) -> str:
        return "backends"

    def inject(self) -> dict[str, Any]:
        self.ctx.deploys.restart_backends()
        return {"backends": len(self.ctx.target.endpoints.backends)}
