"""Faults on containers (the docker runtime): freeze a node, cut it off the network.

`kill` and `restart` (process_faults) act on containers too, through the target's kill_node and
start_node. These two need what only containers offer; a target without it refuses them.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import Field

from cachechaos.faults.base import Fault, FaultParams, register
from cachechaos.runtime.target import NotControllable


@runtime_checkable
class Pausable(Protocol):
    def pause_node(self, node: str) -> None: ...

    def unpause_node(self, node: str) -> None: ...


@runtime_checkable
class Disconnectable(Protocol):
    def disconnect_node(self, node: str) -> None: ...

    def reconnect_node(self, node: str) -> None: ...


class PauseParams(FaultParams):
    type: Literal["pause"] = "pause"
    node: str = Field(description="primary, replica or a node name (redis-1, sentinel-2, postgres, backend-1)")


@register
class Pause(Fault[PauseParams]):
    """Freeze every process of a node's container until heal (a GC pause, a stalled VM).

    Its sockets stay open and nothing answers. A primary paused past Sentinel's down-after is
    failed over; on heal it resumes believing it is still primary until Sentinel demotes it.
    """

    type = "pause"
    params_model = PauseParams
    destructive = True

    def _target(self) -> Pausable:
        target = self.ctx.target
        if not isinstance(target, Pausable):
            raise NotControllable("pause needs a topology whose nodes are containers (kind: docker)")
        return target

    def inject(self) -> dict[str, Any]:
        node = self.resolve_node(self.params.node)
        self._target().pause_node(node)
        return {"node": node}

    def heal(self) -> dict[str, Any]:
        if self.node is None:
            return {"unpaused": False}
        self._target().unpause_node(self.node)
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

    def _target(self) -> Disconnectable:
        target = self.ctx.target
        if not isinstance(target, Disconnectable):
            raise NotControllable("disconnect needs a topology whose nodes are containers (kind: docker)")
        return target

    def inject(self) -> dict[str, Any]:
        node = self.resolve_node(self.params.node)
        self._target().disconnect_node(node)
        return {"node": node}

    def heal(self) -> dict[str, Any]:
        if self.node is None:
            return {"reconnected": False}
        self._target().reconnect_node(self.node)
        return {"reconnected": True, "node": self.node}
