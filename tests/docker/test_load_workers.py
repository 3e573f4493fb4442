"""Load workers as containers on a docker topology's network, joining the master on the host."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cachechaos.docker.target import DockerTopology
from cachechaos.history.format import read_history_file
from cachechaos.runtime.ports import free_port
from cachechaos.traffic.runner import LoadRun
from cachechaos.traffic.spec import Catalog, TrafficSpec


def test_two_load_worker_containers_drive_the_load_and_ship_their_history(
        docker_topology_factory: Callable[..., DockerTopology], tmp_path: Path) -> None:
    topo = docker_topology_factory(backends={"instances": 1})
    spec = TrafficSpec.model_validate({"processes": 2, "shape": {"kind": "arrival", "rate_per_s": 100},
                                       "mix": {"browse": 1, "hot": 0, "write_price": 0, "discount": 0,
                                               "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0}})
    port = free_port()
    run_dir = tmp_path / "run"
    run = LoadRun(spec, list(topo.endpoints.backends.values()), run_dir, 3.0,
                  Catalog(products=500, categories=10, users=100), load_workers=2, master_bind=f"0.0.0.0:{port}",
                  launch_workers=lambda p: topo.start_load_workers(2, p))
    run.start()
    try:
        assert run.wait(30)
    finally:
        run.stop()
    assert sorted(n for n in topo.nodes if n.startswith("load-worker-")) == ["load-worker-0", "load-worker-1"]
    master = json.loads((run_dir / "load" / "master.json").read_text())
    assert master["lost"] == [] and [w["final"] for w in master["workers"]] == [True, True], master
    for name in ("load-0", "load-1"):
        records = list(read_history_file(run_dir / "history" / f"{name}.hist"))
        assert len(records) > 100 and all(200 <= r.status < 300 for r in records), name
