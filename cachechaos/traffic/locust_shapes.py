"""Locust `LoadTestShape` adapters over the pure shapes of `shapes.py`."""

from __future__ import annotations

import time

from locust import LoadTestShape

from cachechaos.traffic.shapes import ProcessShape, Tick


class TimelineShape(LoadTestShape):
    """Ticks a ProcessShape on the run's shared clock (unix time since `start_at`), not this process's.

    Load processes boot at slightly different moments; measuring from the
    common start keeps a ramp or a spike aligned across all of them.
    """

    def __init__(self, shape: ProcessShape, start_at: float) -> None:
        super().__init__()
        self.shape = shape
        self.start_at = start_at

    def tick(self) -> Tick:
        return self.shape.tick(time.time() - self.start_at)


class RampLoadShape(TimelineShape):
    """A ramp (shapes.Ramp); named for the Locust class picker and logs."""


class SpikeLoadShape(TimelineShape):
    """A spike (shapes.Spike)."""


class SteadyLoadShape(TimelineShape):
    """Fixed users, also the paced users of the arrival (open) model."""
