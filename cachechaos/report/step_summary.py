"""The CI job summary: GitHub Actions shows Markdown appended to the file $GITHUB_STEP_SUMMARY names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def append_step_summary(run_dir: Path, environ: Mapping[str, str] = os.environ) -> Path | None:
    """Append run_dir/summary.md to the job summary when the CI names one; the file written, or None."""
    target = environ.get(STEP_SUMMARY_ENV)
    summary = run_dir / "summary.md"
    if not target or not summary.is_file():
        return None
    with open(target, "a", encoding="utf-8") as out:
        # Several gates in one job each add their table; a blank line keeps them separate blocks.
        out.write(summary.read_text(encoding="utf-8").rstrip("\n") + "\n\n")
    return Path(target)
