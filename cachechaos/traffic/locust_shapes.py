"""Locust `LoadTestShape` adapters over the pure shapes of `shapes.py`."""

from __future__ import annotations

from locust import LoadTestShape

from cachechaos.history.clock import now
from cachechaos.traffic.shapes import ProcessShape, Tick


class TimelineShape(LoadTestShape):
    """Ticks a ProcessShape on the run's shared clock (`history.clock.now()` since `start_at`: the master's clock on a remote worker), not this process's.

    Load processes boot at slightly different moments; measuring from the
    common start keeps a ramp or a spike aligned across all of them.
    """

    def __init__(self, shape: ProcessShape, start_at: float) -> None:
        super().__init__()
        self.shape = shape
        self.start_at = start_at

    def tick(self) -> Tick:
        return self.shape.tick(now() - self.start_at)


class RampLoadShape(TimelineShape):
    """A ramp (shapes.Ramp); named for the Locust class picker and logs."""


class SpikeLoadShape(TimelineShape):
    """A spike (shapes.Spike)."""


class SteadyLoadShape(TimelineShape):
    """Fixed users, also the paced users of the arrival (open) model."""
