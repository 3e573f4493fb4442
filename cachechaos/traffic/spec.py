"""What load to drive: the `traffic:` section of an experiment, and the catalog it is driven against."""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import Field, model_validator

from cachechaos.runtime.endpoints import Catalog as Catalog  # the traffic's view of it; defined with the target
from cachechaos.yamlmodel import Strict as _Strict


class SteadyShape(_Strict):
    """A fixed number of users for the whole run (closed model)."""

    kind: Literal["steady"] = "steady"
    users: int | None = Field(None, ge=0, description="concurrent users; default: traffic.users")


class RampShape(_Strict):
    """Users grow (or shrink) linearly, then hold at end_users."""

    kind: Literal["ramp"]
    start_users: int = Field(0, ge=0, description="users at t=0")
    end_users: int = Field(ge=0, description="users at t=duration_s and after")
    duration_s: float = Field(gt=0, description="length of the ramp in seconds")


class SpikeShape(_Strict):
    """base_users, then spike_users for duration_s starting at at_s, then base_users again."""

    kind: Literal["spike"]
    base_users: int = Field(ge=0, description="users outside the spike")
    spike_users: int = Field(ge=0, description="users during the spike")
    at_s: float = Field(ge=0, description="seconds after the start when the spike begins")
    duration_s: float = Field(gt=0, description="length of the spike in seconds")


class _OpenModel(_Strict):
    """Arrivals scheduled independently of responses (open model), split over the load processes."""

    spacing: Literal["poisson", "uniform"] = Field(
        "poisson", description="gaps between arrivals: exponential (Poisson arrivals) or evenly spaced; "
                               "each process has its own random phase either way")
    max_in_flight: int = Field(
        2000, ge=1, description="requests in flight at once over all processes; an arrival that finds them all "
                                "busy is recorded as dropped, never delayed")


class ArrivalShape(_OpenModel):
    """Open model: a constant arrival rate, independent of response times."""

    kind: Literal["arrival"]
    rate_per_s: float = Field(gt=0, description="arrivals per second over all load processes")


class ArrivalRampShape(_OpenModel):
    """Open model: the arrival rate moves linearly from start to end over duration_s, then holds."""

    kind: Literal["arrival_ramp"]
    start_rate_per_s: float = Field(ge=0, description="arrivals per second at t=0")
    end_rate_per_s: float = Field(ge=0, description="arrivals per second at t=duration_s and after")
    duration_s: float = Field(gt=0, description="length of the ramp in seconds")


class ArrivalSpikeShape(_OpenModel):
    """Open model: base_rate_per_s, then spike_rate_per_s for duration_s from at_s, then base again."""

    kind: Literal["arrival_spike"]
    base_rate_per_s: float = Field(ge=0, description="arrivals per second outside the spike")
    spike_rate_per_s: float = Field(ge=0, description="arrivals per second during the spike")
    at_s: float = Field(ge=0, description="seconds after the start when the spike begins")
    duration_s: float = Field(gt=0, description="length of the spike in seconds")


OpenShape = ArrivalShape | ArrivalRampShape | ArrivalSpikeShape
Shape = Annotated[SteadyShape | RampShape | SpikeShape | ArrivalShape | ArrivalRampShape | ArrivalSpikeShape,
                  Field(discriminator="kind")]


class Mix(_Strict):
    """Relative weights of the user's actions (any non-negative numbers; they are normalized)."""

    browse: float = Field(80, ge=0, description="GET /products/{id}, id drawn from the Zipf distribution")
    hot: float = Field(0, ge=0, description="GET /products/{hot_key}: the product of the day")
    write_price: float = Field(4, ge=0, description="PUT /products/{id} with a random price (Zipf id)")
    discount: float = Field(0, ge=0, description="POST /categories/{id}/discount: a bulk sale (rewrites a whole category)")
    checkout: float = Field(3, ge=0, description="POST /orders, qty 1..2 of a Zipf-drawn product")
    cart_read: float = Field(6, ge=0, description="GET /carts/{user} of the user's own cart")
    cart_write: float = Field(3, ge=0, description="PUT /carts/{user} of the user's own cart")
    absent: float = Field(4, ge=0, description="GET /products/{id} of an id that does not exist (negative lookups)")

    @model_validator(mode="after")
    def _something_to_do(self) -> Mix:
        if sum(self.weights().values()) <= 0:
            raise ValueError("at least one mix weight must be positive")
        return self

    def weights(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in type(self).model_fields}


class DiscountSpec(_Strict):
    category: int | None = Field(None, ge=1, description="category of the bulk sale; default: a random category per sale")
    percent: float = Field(10, ge=0, lt=100, description="price cut in percent")


class TrafficSpec(_Strict):
    def describe(self) -> str:
        """One line for a run's summary: popularity, mix and shape, defaults marked as such (a lost-write
        test wants many keys and a flat popularity, and a first experiment inherits Zipf 1.1 silently)."""
        default = " (default)"
        zipf = f"Zipf s={self.zipf_s:g}" + (default if "zipf_s" not in self.model_fields_set else "")
        weights = {k: v for k, v in self.mix.model_dump().items() if v > 0}
        mix = "mix " + ", ".join(f"{k} {v:g}" for k, v in weights.items()) + (default if "mix" not in self.model_fields_set else "")
        shape = self.shape.model_dump()
        kind = shape.pop("kind", "steady")
        return (f"{zipf}; {mix}; {kind} " + ", ".join(f"{k} {v}" for k, v in shape.items() if v is not None)).rstrip()

    users: int = Field(50, ge=1, description="simulated users over all load processes: concurrent users of a "
                                           "closed shape; distinct shoppers (client ids, carts) of an open one")
    processes: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, le=64,
        description="load-generating processes (one per core by default); users are split evenly",
    )
    spawn_rate: float = Field(100, gt=0, description="users started per second while reaching a shape's user count")
    shape: Shape = Field(default_factory=SteadyShape, description="how the load changes over time")  # type: ignore[arg-type]
    mix: Mix = Field(default_factory=Mix, description="relative weights of the user's actions")  # type: ignore[arg-type]
    zipf_s: float = Field(1.1, ge=0, le=5, description="skew of the Zipf distribution of product ids (0 = uniform)")
    hot_share: float = Field(0.0, ge=0, le=1, description="share of browse requests that go to hot_key")
    hot_key: int = Field(1, ge=1, description="product id of the 'product of the day'")
    seed: int = Field(42, description="seed of every random choice of the load (ids, prices, actions)")
    request_timeout_s: float = Field(2.0, gt=0, le=60, description="connect and response timeout of one request; status 0 in the history when exceeded")
    discount: DiscountSpec = Field(default_factory=DiscountSpec, description="the bulk sale of the discount action")  # type: ignore[arg-type]
