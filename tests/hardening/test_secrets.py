"""Secrets kept: a run in attach mode against a Redis with requirepass and a PostgreSQL user with a
scram password uses both (its fault acts, its sampler reads both, its final reads go through SQL),
and no file of its run directory, nor its output, holds either. A run killed mid-fault is healed
with the password the topology file gives, and its directory holds none either. The local runtime
run with passwords of its own (redis.password, postgres.password) keeps them out of its run directory
too, node config files and backend configs included."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
import yaml

from cachechaos.history.format import Layer, read_history
from cachechaos.runtime.local import LocalTopology
from cachechaos.runtime.ports import free_port
from cachechaos.runtime.postgres import DB_NAME
from cachechaos.runtime.process import ManagedProcess, wait_until
from cachechaos.runtime.redis import as_text
from tests.hardening.kill_trials import wait_for_inject

REPO = Path(__file__).resolve().parents[2]
REDIS_SECRET = "redis-Sec7et-4f1c"
PG_SECRET = "pg-Sec7et-9b2e"

pytestmark = pytest.mark.slow


@pytest.fixture
def protected_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis that asks a password, started by hand: someone else's node."""
    port = free_port()
    server = ManagedProcess("redis-auth", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                           "--appendonly", "no", "--requirepass", REDIS_SECRET, "--dir", str(tmp_path)],
                            tmp_path / "redis-auth.log")
    server.start()
    try:
        wait_until(lambda: bool(redis.Redis(port=port, password=REDIS_SECRET).ping()), 15, "redis with requirepass",
                   alive=server)
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


def _scram_user(topo: LocalTopology) -> str:
    """A role `app` that logs in with a scram-sha-256 password over TCP: the DSN an operator would give."""
    pg = topo.postgres
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        conn.execute("SET password_encryption = 'scram-sha-256'")
        conn.execute(f"CREATE ROLE app LOGIN PASSWORD '{PG_SECRET}'")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO app")
        hba = Path(as_text(conn.execute("SHOW hba_file").fetchone()[0]))  # type: ignore[index]
        hba.write_text("host all app 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        conn.execute("SELECT pg_reload_conf()")
    host, port = pg.host, pg.port
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(f"postgresql://app:wrong@{host}:{port}/{DB_NAME}", connect_timeout=3).close()
    return f"postgresql://app:{PG_SECRET}@{host}:{port}/{DB_NAME}"


def _leaks(run_dir: Path) -> list[str]:
    found = []
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(run_dir)}: {s}" for s in (REDIS_SECRET, PG_SECRET) if s.encode() in data]
    return found


def test_the_local_runtime_runs_with_passwords_and_writes_none(topology_factory: Callable[..., LocalTopology],
                                                               tmp_path: Path) -> None:
    passwords = {"redis": {"password": REDIS_SECRET, "sentinels": 1, "quorum": 1}, "postgres": {"password": PG_SECRET}}
    topo = topology_factory(products=300, **passwords)
    node = topo.redis_nodes[0]
    with pytest.raises(redis.AuthenticationError), redis.Redis(host=node.host, port=node.port) as anonymous:
        anonymous.ping()
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(topo.endpoints.postgres_dsn, connect_timeout=3).close()
    topo.down()

    experiment = tmp_path / "exp.yaml"
    experiment.write_text(yaml.safe_dump({
        "name": "local-secrets", "purpose": "the local runtime with passwords",
        "target": {"overrides": {**passwords, "postgres": {**passwords["postgres"], "products": 300},
                                 "backends": {"instances": 1}}},
        "traffic": {"users": 10, "shape": {"kind": "arrival", "rate_per_s": 60},
                    "mix": {"browse": 80, "write_price": 20, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0}},
        "phases": [{"name": "baseline", "duration_s": 2},
                   {"name": "fault", "duration_s": 4, "faults": [
                       {"type": "redis_config", "node": "primary", "settings": {"maxmemory-policy": "allkeys-lru"}},
                       {"type": "latency", "link": "postgres", "latency_ms": 20}]},
                   {"name": "failover", "duration_s": 4, "faults": [{"type": "sentinel_failover"}]}],
        "criteria": [{"check": "error_rate", "max": 1.0}]}))
    reports = tmp_path / "reports"
    done = subprocess.run([sys.executable, "-m", "cachechaos", "run", str(experiment), "--reports-dir", str(reports),
                           "--no-live"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = next(reports.iterdir())
    # The passwords were used: every fault acted (CONFIG SET and SENTINEL FAILOVER need them), the sampler
    # read Redis and PostgreSQL, and the backend answered from its Redis (L2) and PostgreSQL.
    journal = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    injects = {e["fault"]: e["ok"] for e in journal if e["event"] == "inject"}
    assert injects == {"redis_config": True, "latency": True, "sentinel_failover": True}, injects
    last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert all(node["up"] for node in last["redis"].values()) and last["postgres"]["up"], last
    records = list(read_history(run_dir))
    served = Counter(Layer(r.layer) for r in records if r.ok)
    assert served[Layer.L2] > 0 and served[Layer.MISS] > 0, served  # from Redis, and from PostgreSQL
    assert sum(r.ok for r in records) / len(records) > 0.9, len(records)
    assert (run_dir / "nodes").is_dir()  # the node files are in the run directory, and hold no password
    assert _leaks(run_dir) == []
    assert REDIS_SECRET not in done.stdout + done.stderr and PG_SECRET not in done.stdout + done.stderr


def test_no_secret_reaches_a_run_directory(topology_factory: Callable[..., LocalTopology],
                                           hand_started_backend: Callable[..., str], protected_redis: str,
                                           tmp_path: Path) -> None:
    topo = topology_factory(products=300)
    backend = hand_started_backend(topo)
    dsn = _scram_user(topo)
    topology = tmp_path / "staging.yaml"
    topology.write_text(yaml.safe_dump({
        "kind": "external", "name": "staging", "backends": [backend],
        "redis": {"nodes": {"cache-auth": protected_redis}, "password": REDIS_SECRET},
        "postgres": {"dsn": dsn, "tables": {"products": {"table": "products", "key": "id", "version": "version"}}},
        "toxiproxy": {"url": topo.endpoints.proxy_api}, "catalog": {"products": 300},
        "chaos_targets": ["cache-auth"], "final_reads": {"quiescence_s": 0}}))
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(yaml.safe_dump({
        "name": "secrets", "purpose": "a run with passwords",
        "traffic": {"users": 10, "shape": {"kind": "arrival", "rate_per_s": 60},
                    "mix": {"browse": 80, "write_price": 20, "checkout": 0, "cart_read": 0, "cart_write": 0, "absent": 0}},
        "phases": [{"name": "baseline", "duration_s": 2},
                   {"name": "fault", "duration_s": 4, "faults": [
                       {"type": "redis_config", "node": "cache-auth", "settings": {"maxmemory-policy": "allkeys-lru"}},
                       {"type": "latency", "link": "postgres", "latency_ms": 20}]}],
        "criteria": [{"check": "error_rate", "max": 1.0}]}))
    reports = tmp_path / "reports"
    argv = [sys.executable, "-m", "cachechaos", "run", str(experiment), "--topology", str(topology), "--allow-destructive",
            "--reports-dir", str(reports), "--no-live"]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = next(reports.iterdir())
    # The secrets were used: the fault acted on the protected Redis, the sampler read both servers,
    # the final reads went through SQL as `app`.
    journal = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    assert next(e for e in journal if e["event"] == "inject" and e["fault"] == "redis_config")["ok"]
    last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["redis"]["cache-auth"]["up"] and last["postgres"]["up"], last
    how = next(e for e in journal if e["event"] == "final_reads")["how"]["products"]
    assert "in SQL" in how and "FAILED" not in how, how
    assert _leaks(run_dir) == []
    assert REDIS_SECRET not in done.stdout + done.stderr and PG_SECRET not in done.stdout + done.stderr

    # Killed while the CONFIG change is on: `heal` needs the password, which only the topology file has.
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_inject(proc, reports, earlier=frozenset({run_dir}))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        proc.kill()
    node = redis.Redis(host="127.0.0.1", port=int(protected_redis.rsplit(":", 1)[1]), password=REDIS_SECRET,
                       decode_responses=True)
    assert node.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    killed = next(p for p in reports.iterdir() if p != run_dir)
    healed = subprocess.run([sys.executable, "-m", "cachechaos", "heal", str(killed), "--topology", str(topology)],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert node.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    assert _leaks(killed) == [] and REDIS_SECRET not in healed.stdout + healed.stderr
