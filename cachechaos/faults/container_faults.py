"""Freezing a node and cutting it off the network, for the targets that can (Pausable, Disconnectable).

`kill` and `restart` (process_faults) act on containers too, through the target's kill_node and
start_node. An experiment asking these of a target without the capability is rejected when it
is validated (Fault.requires).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from cachechaos.faults.base import Fault, FaultParams, register
from cachechaos.runtime.target import Disconnectable, Pausable, need


class PauseParams(FaultParams):
    type: Literal["pause"] = "pause"
    node: str = Field(description="primary, replica or a node name (redis-1, sentinel-2, postgres, backend-1)")


@register
class Pause(Fault[PauseParams]):
    """Freeze a node until heal (a GC pause, a stalled VM): its container paused, or its process stopped (SIGSTOP) locally.

    Its sockets stay open and nothing answers. A primary paused past Sentinel's down-after is
    failed over; on heal it resumes believing it is still primary until Sentinel demotes it.
    """

    type = "pause"
    params_model = PauseParams
    destructive = True

    requires = (Pausable,)

    def _target(self) -> Pausable:
        return need(self.ctx.target, Pausable)

    def inject(self) -> dict[str, Any]:
        node = self.resolve_node(self.params.node)
        self.will_heal_node("pause", node)
        self._target().pause_node(node)
        return {"node": node}

    def heal(self) -> dict[str, Any]:
        if self.node is None:
            return {"unpaused": False}
        self._target().resume_node(self.node)
        return {"unpaused": True, "node": self.node}


class DisconnectParams(FaultParams):
    type: Literal["disconnect"] = "disconnect"
    node: str = Field(description="primary, replica or a node name (redis-1, sentinel-2, postgres, backend-1)")


@register
class Disconnect(Fault[DisconnectParams]):
    """Cut a node's container off the run's network until heal: a real partition of the node from
    everything, below the proxy (packets vanish; established connections hang until they time out)."""

    type = "disconnect"
    params_model = DisconnectParams
    destructive = True

    requires = (Disconnectable,)

    def _target(self) -> Disconnectable:
        return need(self.ctx.target, Disconnectable)

    def inject(self) -> dict[str, Any]:
        node = self.resolve_node(self.params.node)
        self.will_heal_node("disconnect", node)
        self._target().disconnect_node(node)
        return {"node": node}

    def heal(self) -> dict[str, Any]:
        if self.node is None:
            return {"reconnected": False}
        self._target().reconnect_node(self.node)
        return {"reconnected": True, "node": self.node}
