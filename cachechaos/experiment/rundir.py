"""Transition alias: the run directory moved to `cachechaos.store` (layout, journal, files) and
`detected` to `cachechaos.checks.expectation`. Kept while branches written against the old path merge."""

from cachechaos.checks.expectation import detected, named_verdict
from cachechaos.store.files import read_json, write_json
from cachechaos.store.journal import Journal
from cachechaos.store.rundir import (
    HISTORY_DIR,
    JOURNAL_FILE,
    LOAD_DIR,
    METRICS_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    read_jsonl,
)

__all__ = ["HISTORY_DIR", "JOURNAL_FILE", "LOAD_DIR", "METRICS_FILE", "RUN_FILE", "SUMMARY_FILE", "Journal", "detected",
           "named_verdict", "read_json", "read_jsonl", "write_json"]
