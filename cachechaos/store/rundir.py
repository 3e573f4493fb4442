"""The run directory: the unit of record of one run (`reports/<run-id>/`).

Written incrementally, so a run that crashes or is interrupted still leaves
enough for `cachechaos report` and the checks. Everything downstream (checks,
reports) reads only these files:

    run.json          what ran: run_id, experiment (name, purpose, file text), toolkit version,
                      git commit, topology and backend configuration (secrets redacted), seeds,
                      started_at / ended_at (unix s), status: running | finished | aborted | error
    journal.jsonl     one JSON object per line, every edge of the run, flushed per line:
                        {"t": unix_s, "event": "run_start" | "phase_start" | "phase_end" | "inject"
                         | "heal" | "run_end" | "note", ...}
                      phase_start/phase_end: {"phase": name}
                      inject/heal: {"fault": id, "type": fault type, "phase": name,
                                    "target": link/node, "params": {...}, "ok": bool, "error": str?}
                        (a one-shot fault such as FLUSHALL has an inject and an immediate heal)
                      run_end: {"status": "finished" | "aborted" | "error", "error": str?}
    metrics.jsonl     one JSON object per second (cumulative counters; consumers take deltas):
                        {"t": unix_s,
                         "redis": {node: {"up": bool, "role": str, "keyspace_hits", "keyspace_misses",
                                          "evicted_keys", "expired_keys", "used_memory", "maxmemory",
                                          "connected_clients", "total_commands_processed"}},
                         "postgres": {"up": bool, "xact_commit", "xact_rollback", "tup_returned",
                                      "tup_fetched", "tup_updated", "numbackends"},
                         "backends": {instance: {"up": bool, "metrics": {prometheus sample name with
                                      labels, e.g. 'cache_hits_total{layer="l1"}': value}}},
                         "load": {"requests": int, "errors": int}}
    history/*.hist    the client-observed history, one file per load process (cachechaos.history):
                      load-<i>.hist (Locust processes), runner.hist (requests faults make, e.g. a
                      bulk discount), final.hist (FINAL_READ of every written key after the run;
                      layer 1 = cart, 2 = product; status 404 = the key is gone)
    load/*.json       live load statistics of each load process (rewritten every second)
    nodes/<node>/     each node's log (`<node>.log`) and config, when the toolkit ran it;
                      nodes/load-<i>/ holds each load process's config (traffic.json) and log
    summary.json      verdicts (written at the end, ExperimentRun in cachechaos.experiment.runner):
                      status, exit_code, expect (the variant's, "pass" for the default run) and
                      one entry per criterion; cell ("fault" or "control"), detects (the name of the
                      criterion aimed at the mechanism) and mechanism; `detected` reads whether the
                      run matched its expectation
    junit.xml, summary.md, index.html
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

RUN_FILE = "run.json"
JOURNAL_FILE = "journal.jsonl"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
HISTORY_DIR = "history"
LOAD_DIR = "load"
NODES_DIR = "nodes"


def new_run_id(name: str) -> str:
    """`<name>-<date>-<time>-<pid>`: runs, suites and `up` directories sort by when they started."""
    return f"{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{os.getpid() % 10000:04d}"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete line of a JSON-lines file; a torn last line (a crash) is skipped."""
    out: list[dict[str, Any]] = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
