"""Heals that survive the toolkit: how to undo each change a fault makes, journaled before the change.

A fault about to change something it does not own for good (a Redis CONFIG value, a toxic on a
proxy, a proxy disabled, a compose project's container paused, cut off or killed) first writes a `heal_step` line to the run's journal: what to put back,
where, derived from the fault itself (the values read just before, the toxic's name), never written
by hand. A fault whose `heal` edge is not in the journal with `ok: true` is unhealed: its toolkit
was killed, or its heal failed. `cachechaos heal RUN_DIR` replays those steps (idempotently:
a value already back, a toxic already gone, is reported as such) and journals the heal; `run`
does it for earlier runs on the same target before it starts (heal_previous_runs).

Steps hold addresses and names, never credentials: a step needing a password gets it from the
topology at heal time. A local run's processes die with the toolkit, so its steps usually find
their proxy gone, which is what a heal needs (`gone`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from cachechaos.docker import container_heal
from cachechaos.proxy.client import ProxyNotFound, ToxicNotFound, ToxiproxyClient, ToxiproxyUnavailable
from cachechaos.store.files import read_json
from cachechaos.store.journal import Journal
from cachechaos.store.rundir import JOURNAL_FILE, RUN_FILE

HEAL_STEP = "heal_step"
HEALED_BY = "cachechaos heal"


# Redis node address -> (ACL user, password), from the topology at heal time: steps never hold them.
RedisAuth = dict[str, tuple[str | None, str | None]]


def redis_auth(topology: dict[str, Any]) -> RedisAuth:
    """The credentials an attached topology (its JSON form, unredacted) gives its Redis nodes, by address."""
    settings: dict[str, Any] = topology["redis"] if isinstance(topology.get("redis"), dict) else {}
    nodes: dict[str, Any] = settings["nodes"] if isinstance(settings.get("nodes"), dict) else {}
    if not settings.get("password") and not settings.get("username"):
        return {}
    return {str(address): (settings.get("username"), settings.get("password")) for address in nodes.values()}


# -- the steps faults record ----------------------------------------------------------------------------

def redis_config_step(node: str, client: redis.Redis, previous: dict[str, str]) -> dict[str, Any]:
    """Put back `previous` CONFIG values on the Redis node `client` talks to."""
    kwargs = client.connection_pool.connection_kwargs
    return {"action": "redis_config", "node": node, "address": f"{kwargs.get('host')}:{kwargs.get('port')}",
            "settings": dict(previous)}


def remove_toxic_step(api: str, proxy: str, toxic: str) -> dict[str, Any]:
    return {"action": "remove_toxic", "api": api, "proxy": proxy, "toxic": toxic}


def enable_proxy_step(api: str, proxy: str) -> dict[str, Any]:
    return {"action": "enable_proxy", "api": api, "proxy": proxy}


# -- reading a run's journal -------------------------------------------------------------------------------

def read_journal(run_dir: Path) -> list[dict[str, Any]]:
    """The journal's entries; a line torn by a kill mid-write is skipped."""
    entries = []
    try:
        lines = (run_dir / JOURNAL_FILE).read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def unhealed(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Fault id -> the heal steps of every fault with steps and no successful heal edge, in inject order."""
    steps: dict[str, list[dict[str, Any]]] = {}
    healed: set[str] = set()
    for entry in entries:
        fault = str(entry.get("fault"))
        if entry.get("event") == HEAL_STEP and isinstance(entry.get("step"), dict):
            steps.setdefault(fault, []).append(entry["step"])
            healed.discard(fault)
        elif entry.get("event") == "heal" and entry.get("ok"):
            healed.add(fault)
    return {f: s for f, s in steps.items() if f not in healed}


# -- replaying steps ----------------------------------------------------------------------------------------------

class StepFailed(Exception):
    """A step could not be replayed (a node that does not answer): the fault stays unhealed."""


def _replay_redis_config(step: dict[str, Any], auth: RedisAuth) -> str:
    host, _, port = str(step["address"]).rpartition(":")
    wanted = {str(k): str(v) for k, v in step["settings"].items()}
    username, password = auth.get(str(step["address"]), (None, None))
    try:
        with redis.Redis(host=host, port=int(port), username=username, password=password, socket_timeout=3,
                         socket_connect_timeout=3, decode_responses=True) as r:
            changed = {}
            for key, value in wanted.items():
                current = r.config_get(key).get(key)
                if current != value:
                    r.config_set(key, value)
                    changed[key] = f"{current} -> {value}"
    except redis.RedisError as exc:
        raise StepFailed(f"Redis {step['node']} at {step['address']}: {exc}") from exc
    if changed:
        return f"Redis {step['node']}: CONFIG SET " + ", ".join(f"{k} {v}" for k, v in changed.items())
    return f"Redis {step['node']}: {', '.join(wanted)} already back"


def _replay_proxy(step: dict[str, Any]) -> str:
    where = f"proxy {step['proxy']} at {step['api']}"
    try:
        with ToxiproxyClient(step["api"], timeout=3) as client:
            if step["action"] == "remove_toxic":
                try:
                    client.remove_toxic(step["proxy"], step["toxic"])
                except ToxicNotFound:
                    return f"{where}: toxic {step['toxic']} already gone"
                return f"{where}: removed toxic {step['toxic']}"
            if client.get_proxy(step["proxy"]).enabled:
                return f"{where}: already enabled"
            client.enable(step["proxy"])
            return f"{where}: enabled"
    except ProxyNotFound:
        return f"{where}: gone (the proxy no longer exists)"
    except ToxiproxyUnavailable:
        # Toxics and disabled proxies live in the proxy's memory: a proxy that no longer answers holds none.
        return f"{where}: gone (no proxy answers there, so nothing of the fault is left on it)"


def replay(step: dict[str, Any], auth: RedisAuth | None = None) -> str:
    """Undo one recorded change; what it did. Raises StepFailed when the node cannot be reached."""
    action = step.get("action")
    if action == "redis_config":
        return _replay_redis_config(step, auth or {})
    if action in ("remove_toxic", "enable_proxy"):
        return _replay_proxy(step)
    if action in container_heal.ACTIONS:
        try:
            return container_heal.replay_container_step(step)
        except container_heal.ContainerStepFailed as exc:
            raise StepFailed(str(exc)) from exc
    raise StepFailed(f"unknown heal step {action!r} (written by a newer cachechaos?)")


@dataclass
class RunHeal:
    """What healing one run did: per fault, the lines of what each step did, and the faults left unhealed."""

    run_dir: Path
    done: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    running_pid: int | None = None  # the run is still going: its own teardown heals it, not us

    @property
    def nothing_to_do(self) -> bool:
        return not self.done and not self.failed


def running_pid(run_dir: Path) -> int | None:
    """The pid of the toolkit still running the run in `run_dir`, None once it has ended or died."""
    from cachechaos.runtime.state import pid_alive

    info = read_json(run_dir / RUN_FILE)
    pid = info.get("pid")
    if info.get("status") != "running" or not isinstance(pid, int) or pid == os.getpid():
        return None
    return pid if pid_alive(pid) else None


def heal_run(run_dir: Path, auth: RedisAuth | None = None) -> RunHeal:
    """Replay every unhealed fault's steps of the run in `run_dir`, newest fault first, and journal each heal.
    `auth`: the credentials of password-protected Redis nodes, by address (redis_auth of the topology)."""
    result = RunHeal(run_dir, running_pid=running_pid(run_dir))
    todo = unhealed(read_journal(run_dir))
    if not todo or result.running_pid is not None:
        return result
    journal = Journal(run_dir / JOURNAL_FILE)
    try:
        for fault, steps in reversed(list(todo.items())):
            lines: list[str] = []
            try:
                for step in reversed(steps):
                    lines.append(replay(step, auth))
            except StepFailed as exc:
                result.failed[fault] = str(exc)
                journal.write("heal", fault=fault, ok=False, by=HEALED_BY, error=str(exc), details={"done": lines})
                continue
            result.done[fault] = lines
            journal.write("heal", fault=fault, ok=True, by=HEALED_BY, details={"done": lines})
    finally:
        journal.close()
    return result


# -- runs on the same target ----------------------------------------------------------------------------------------

def run_dirs(reports_dir: Path) -> list[Path]:
    """Run directories under `reports_dir` (and in its suite directories), oldest first."""
    found = [p.parent for pattern in (f"*/{RUN_FILE}", f"*/*/{RUN_FILE}") for p in reports_dir.glob(pattern)]
    return sorted(found, key=lambda d: (d / RUN_FILE).stat().st_mtime)


def target_identity(topology: dict[str, Any]) -> tuple[str, str]:
    """What makes two runs' targets the same one: the topology's kind and name."""
    return str(topology.get("kind", "local")), str(topology.get("name", ""))


def heal_previous_runs(reports_dir: Path, topology: dict[str, Any], exclude: Path | None = None) -> list[RunHeal]:
    """Heal every earlier run under `reports_dir` on the same target that left a fault unhealed."""
    identity = target_identity(topology)
    healed = []
    for run_dir in run_dirs(reports_dir) if reports_dir.is_dir() else []:
        if exclude is not None and run_dir.resolve() == exclude.resolve():
            continue
        info = read_json(run_dir / RUN_FILE)
        if not isinstance(info.get("topology"), dict) or target_identity(info["topology"]) != identity:
            continue
        if not unhealed(read_journal(run_dir)):
            continue
        healed.append(heal_run(run_dir, redis_auth(topology)))
    return healed


def describe(result: RunHeal) -> list[str]:
    """What healing a run did, one line per fault."""
    if result.running_pid is not None:
        return [f"{result.run_dir}: still running (pid {result.running_pid}): its own teardown heals its faults; "
                "left alone"]
    if result.nothing_to_do:
        return [f"{result.run_dir}: nothing to heal (every fault's heal is in the journal)"]
    lines = [f"{result.run_dir}: healed {fault}: {'; '.join(done) or 'no step'}" for fault, done in result.done.items()]
    lines += [f"{result.run_dir}: could NOT heal {fault}: {why}" for fault, why in result.failed.items()]
    return lines
