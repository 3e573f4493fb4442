"""`images build`, `up --detach --json` / `down`, the reaper after a SIGKILL, and `down --all`, on the real engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker

from cachechaos.docker import images, labels
from cachechaos.docker.images import ImageSet

CLI = [sys.executable, "-m", "cachechaos"]
# A small catalogue and a single backend keep the bring-up short; the rest is targets/docker.yaml.
TOPOLOGY = """\
kind: docker
images: {source: offline}
postgres: {products: 500}
backends: {instances: 1}
"""


def _labelled(client: docker.DockerClient, run_id: str) -> list[str]:
    found = [c.name for c in client.containers.list(ignore_removed=True, all=True, filters=labels.run_filter(run_id))]
    found += [n.name for n in client.networks.list(filters=labels.run_filter(run_id))]
    found += [v.name for v in client.volumes.list(filters=labels.run_filter(run_id))]
    return found


def test_offline_image_runs_every_server_and_is_reused(engine: docker.DockerClient, offline_images: ImageSet,
                                                       tmp_path: Path) -> None:
    assert offline_images.redis == offline_images.postgres == offline_images.toxiproxy == offline_images.toolkit
    image = engine.images.get(offline_images.toolkit)
    assert image.labels[labels.IMAGE] == "toolkit"
    output = engine.containers.run(
        offline_images.toolkit,
        ["sh", "-c", "redis-server --version && ls /usr/lib/postgresql/*/bin/postgres && python -m cachechaos --version"],
        remove=True, labels=labels.run_labels("t-image-check"),
    ).decode()
    assert "Redis server" in output and "/bin/postgres" in output and "cachechaos" in output
    # Same content key: a second build reuses everything and takes no time.
    started = time.monotonic()
    again = images.build(engine, "offline", lambda _m: None, tmp_path)
    assert again == offline_images and time.monotonic() - started < 10


def test_up_detached_then_sigkill_of_the_toolkit_leaves_nothing(engine: docker.DockerClient, offline_images: ImageSet,
                                                                 tmp_path: Path) -> None:
    topology = tmp_path / "docker.yaml"
    topology.write_text(TOPOLOGY)
    state_dir = tmp_path / "state"
    result = subprocess.run([*CLI, "up", "--topology", str(topology), "--detach", "--json", "--state-dir", str(state_dir),
                             "--run-dir", str(tmp_path / "run")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    desc = json.loads(result.stdout)
    run_id = desc["run_id"]
    assert desc["status"] == "healthy" and desc["runtime"] == "docker"
    status = subprocess.run([*CLI, "status", "--json", "--state-dir", str(state_dir)], capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and json.loads(status.stdout)["healthy"], status.stdout
    assert len(_labelled(engine, run_id)) == 1 + 1 + len(desc["nodes"])  # the network, the reaper, every node
    # The toolkit dies without a chance to tear down: the reaper removes the run.
    os.kill(desc["pid"], signal.SIGKILL)
    killed = time.monotonic()
    while _labelled(engine, run_id) and time.monotonic() - killed < 30:
        time.sleep(0.25)
    took = time.monotonic() - killed
    assert not _labelled(engine, run_id), f"left after {took:.0f}s: {_labelled(engine, run_id)}"
    assert took < 15, f"the reaper took {took:.1f}s"
    # `down` then only clears the state file.
    subprocess.run([*CLI, "down", "--state-dir", str(state_dir)], capture_output=True, timeout=60, check=True)


def test_down_all_sweeps_every_labelled_resource(engine: docker.DockerClient, offline_images: ImageSet) -> None:
    run_id = f"t{os.getpid()}sweep"
    network = engine.networks.create(f"cachechaos-{run_id}", labels=labels.run_labels(run_id))
    volume = engine.volumes.create(f"cachechaos-{run_id}", labels=labels.run_labels(run_id))
    container = engine.containers.create(offline_images.toolkit, ["sleep", "60"], name=f"cachechaos-{run_id}-node",
                                         labels=labels.run_labels(run_id), network=network.name)
    container.start()
    assert len(_labelled(engine, run_id)) == 3
    result = subprocess.run([*CLI, "down", "--all", "--state-dir", "/nonexistent-state"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not _labelled(engine, run_id)
    assert volume.name and "removed" in result.stderr


def test_doctor_lists_the_images(offline_images: ImageSet) -> None:
    result = subprocess.run([*CLI, "doctor"], capture_output=True, text=True, timeout=60)
    assert offline_images.toolkit in result.stdout and "docker engine" in result.stdout
