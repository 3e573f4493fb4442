"""Small files other processes read while we write them: state, run records, load statistics, reports."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_text_atomically(path: Path, text: str) -> Path:
    """Write through a temporary file and rename it, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def write_json(path: Path, data: Any, indent: int | None = 2) -> None:
    write_text_atomically(path, json.dumps(data, indent=indent, default=str))


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object, or {} when the file is missing, half-written or not an object."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
