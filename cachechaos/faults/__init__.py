"""The fault catalog (the nemesis): every fault is inject()/heal(), looked up by type."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from cachechaos.faults import (
    bulk_discount,
    container_faults,
    expire_keys,
    link,
    process_faults,
    redis_faults,
    sentinel_faults,
)
from cachechaos.faults.base import (
    REGISTRY,
    Fault,
    FaultContext,
    FaultParams,
    FaultRefused,
    UnsupportedFault,
    check_supported,
)
from cachechaos.faults.bulk_discount import BulkDiscountParams
from cachechaos.faults.container_faults import DisconnectParams, PauseParams
from cachechaos.faults.expire_keys import ExpireKeysParams
from cachechaos.faults.link import DownParams, LatencyParams, TimeoutParams
from cachechaos.faults.process_faults import KillParams, RestartBackendsParams, RestartParams
from cachechaos.faults.redis_faults import FlushallParams, MemoryPressureParams, RedisConfigParams
from cachechaos.faults.sentinel_faults import PartitionParams, SentinelFailoverParams

# The experiment schema's fault entry: a union discriminated by `type` (a test keeps it in step with REGISTRY).
FaultSpec = Annotated[
    BulkDiscountParams | ExpireKeysParams | LatencyParams | TimeoutParams | DownParams | KillParams | RestartParams
    | RestartBackendsParams | FlushallParams | RedisConfigParams | MemoryPressureParams | SentinelFailoverParams
    | PartitionParams | PauseParams | DisconnectParams,
    Field(discriminator="type"),
]


def build_fault(params: FaultParams, ctx: FaultContext) -> Fault[Any]:
    return REGISTRY[params.type](params, ctx)


__all__ = [
    "REGISTRY",
    "Fault",
    "FaultContext",
    "FaultParams",
    "FaultRefused",
    "FaultSpec",
    "UnsupportedFault",
    "build_fault",
    "bulk_discount",
    "check_supported",
    "container_faults",
    "expire_keys",
    "link",
    "process_faults",
    "redis_faults",
    "sentinel_faults",
]
