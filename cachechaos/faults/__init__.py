"""The fault catalog (the nemesis): every fault is inject()/heal(), looked up by type."""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field

from cachechaos.faults import bulk_discount, expire_keys, link, process_faults, redis_faults, sentinel_faults
from cachechaos.faults.base import REGISTRY, Fault, FaultContext, FaultParams, FaultRefused

# The experiment schema's fault entry: a union discriminated by `type`.
FaultSpec = Annotated[
    Union[tuple(cls.params_model for cls in REGISTRY.values())],  # type: ignore[valid-type]  # noqa: UP007
    Field(discriminator="type"),
]


def build_fault(params: FaultParams, ctx: FaultContext) -> Fault[Any]:
    return REGISTRY[params.type](params, ctx)


__all__ = ["REGISTRY", "Fault", "FaultContext", "FaultParams", "FaultRefused", "FaultSpec", "build_fault",
           "bulk_discount", "expire_keys", "link", "process_faults", "redis_faults", "sentinel_faults"]
