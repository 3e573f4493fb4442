"""The load as a plain locustfile, for running it by hand with Locust's CLI or web UI (game days).

    CACHECHAOS_TRAFFIC_CONFIG=reports/<run>/nodes/load-0/traffic.json \\
        locust -f cachechaos/traffic/locustfile.py

The config is the JSON a LoadRun writes per process (`ProcessConfig`). The
toolkit itself runs `cachechaos.traffic.worker`, which drives the same user
class and shape through Locust's library API with graceful signal handling.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from locust import events

from cachechaos.traffic.config import ProcessConfig
from cachechaos.traffic.worker import LoadProcess

_CONFIG = os.environ.get("CACHECHAOS_TRAFFIC_CONFIG")
if not _CONFIG:
    raise SystemExit("set CACHECHAOS_TRAFFIC_CONFIG to a load process configuration (see this file's docstring)")

# Run by hand, the load's timeline starts now, not when the run that wrote the file started.
_process = LoadProcess(ProcessConfig.read(Path(_CONFIG)).model_copy(update={"start_at": time.time(), "go_path": None}))

# Locust collects User subclasses and LoadTestShape instances from this module's names.
Shopper = _process.user_class


class ConfiguredShape(type(_process.shape)):  # type: ignore[misc]
    """The configured shape; Locust instantiates shape classes without arguments."""

    def __init__(self) -> None:
        super().__init__(_process.shape.shape, _process.shape.start_at)


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    _process.attach(environment)


@events.quitting.add_listener
def _on_quitting(**_: Any) -> None:
    _process.close()
