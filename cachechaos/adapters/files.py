"""An adapter named by a topology: inline, or in a YAML file of its own (`adapter: adapters/items.yaml`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cachechaos.adapters.hook import resolve_path
from cachechaos.adapters.model import AdapterSpec
from cachechaos.yamlmodel import load_model


def inline_adapter_file(data: Any, topology_path: Path | str) -> Any:
    """The topology's data with `adapter: FILE` replaced by the file's adapter (validated there, so an
    error names that file, its line and field), and the adapter's `path` made absolute."""
    if not isinstance(data, dict) or not data.get("adapter"):
        return data
    adapter = data["adapter"]
    base = Path(topology_path).resolve().parent
    if isinstance(adapter, str):
        file = (base / adapter).resolve()
        spec = resolve_path(load_model(AdapterSpec, file), file.parent)
        return {**data, "adapter": spec.model_dump(mode="json")}
    if isinstance(adapter, dict) and isinstance(adapter.get("path"), str) and not Path(adapter["path"]).is_absolute():
        return {**data, "adapter": {**adapter, "path": str((base / adapter["path"]).resolve())}}
    return data
