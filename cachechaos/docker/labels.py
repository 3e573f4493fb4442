"""Labels on every container, network and volume the toolkit creates: `down`, the reaper and
`down --all` find a run's resources by them, whatever process created them and however it died."""

from __future__ import annotations

MANAGED = "io.cachechaos.managed"  # on every resource of every run: what `down --all` sweeps
RUN = "io.cachechaos.run"  # the run (topology) a resource belongs to
NODE = "io.cachechaos.node"  # the topology node a container runs
ROLE = "io.cachechaos.role"  # node, reaper

# Image labels: images are a cache kept between runs, so they carry no MANAGED label.
IMAGE = "io.cachechaos.image"  # base, toolkit
IMAGE_KEY = "io.cachechaos.key"  # the content key the image was built from


def run_labels(run_id: str, **extra: str) -> dict[str, str]:
    """The labels of one resource of `run_id` (extra: NODE, ROLE)."""
    return {MANAGED: "true", RUN: run_id, **extra}


def run_filter(run_id: str | None = None) -> dict[str, list[str]]:
    """A Docker API filter for one run's resources, or every run's."""
    labels = [f"{MANAGED}=true"] + ([f"{RUN}={run_id}"] if run_id else [])
    return {"label": labels}
