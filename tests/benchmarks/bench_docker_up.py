"""Benchmark: `cachechaos images build --offline`, then `cachechaos up --topology targets/docker.yaml
--detach --json` to healthy, then `down`; each timed as a user runs them (the CLI, end to end).

Targets (issue 17): up < 20 s with the images present. The build is timed as it comes: a first
build on an engine without the images (debootstrap, import, toolkit image), or the reuse of the
images already there (pass --fresh to remove them first and time a build from nothing).
Run (as root, with a Docker engine): .venv/bin/python tests/benchmarks/bench_docker_up.py [runs] [--fresh]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

from cachechaos.docker import images
from cachechaos.docker.engine import engine_answers


def _timed(argv: list[str], **kwargs: object) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    took = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return took, result


def main(runs: int, fresh: bool) -> None:
    reason = engine_answers()
    if reason is not None:  # `make bench` runs every script; this one has nothing to time without an engine
        print(f"skipped: {reason}")
        return
    cli = [sys.executable, "-m", "cachechaos"]
    client = docker.from_env()
    if fresh:
        for image in client.images.list(filters={"label": images.IMAGE}):
            client.images.remove(image.id, force=True)
        print(f"removed the cachechaos images ({images.base_tag()} and the toolkit's)", flush=True)
    build_s, _ = _timed([*cli, "images", "build", "--offline"])
    print(f"images build --offline: {build_s:.1f}s ({'from nothing' if fresh else 'as found'})", flush=True)
    ups, healthy, downs = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-docker-up-") as tmp:
        for i in range(runs):
            state = Path(tmp) / f"state-{i}"
            up_s, result = _timed([*cli, "up", "--topology", "targets/docker.yaml", "--detach", "--json",
                                   "--state-dir", str(state), "--run-dir", str(Path(tmp) / f"run-{i}")])
            desc = json.loads(result.stdout)
            down_s, _ = _timed([*cli, "down", "--state-dir", str(state)])
            ups.append(up_s)
            healthy.append(desc["healthy_after_s"])
            downs.append(down_s)
            print(f"run {i + 1}: up --detach {up_s:.2f}s (healthy after {desc['healthy_after_s']:.2f}s in the "
                  f"supervisor), down {down_s:.2f}s", flush=True)
    print(f"up --detach --json, docker topology (offline images): median {statistics.median(ups):.2f}s "
          f"(min {min(ups):.2f}s, max {max(ups):.2f}s, {runs} runs; target < 20 s); "
          f"topology healthy after median {statistics.median(healthy):.2f}s; down median {statistics.median(downs):.2f}s")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 3, "--fresh" in sys.argv)
