"""Loading YAML files into pydantic models with errors that name file, line and field.

Topologies and experiments are hand-written YAML; when one is wrong the user
needs `targets/x.yaml:12: redis.sentinels: Input should be ...`, not a
traceback. ConfigFileError carries exit code 2 (cachechaos.errors); this module builds the message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from cachechaos.errors import BadInput

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Every hand-written file's models: an unknown key is a typo to report, not a setting to ignore."""

    # inf and nan are numbers YAML can spell (.inf) but no duration, rate or size can be.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ConfigFileError(BadInput, ValueError):
    """A bad input file: `path`, `line` (1-based, or None) and `field` (dotted, or None)."""

    def __init__(self, path: Path | str, line: int | None, field: str | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        where = self.path + (f":{line}" if line else "")
        what = f"{field}: " if field else ""
        super().__init__(f"{where}: {what}{message}")


def node_at(root: yaml.Node, loc: tuple[int | str, ...]) -> yaml.Node:
    """Walk the composed YAML tree along a pydantic error location as far as it goes."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    node = value
                    break
            else:
                return node
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def _data_path(data: Any, loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The error location as a path through the data: without pydantic's union tags and validator names."""
    out: list[int | str] = []
    for part in loc:
        if isinstance(data, dict) and part not in data and part in data.values():
            continue  # a discriminated union's tag (e.g. the fault type), not a key
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out.append(part)
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            data = None
    return tuple(out)


def line_tree(path: Path | str) -> yaml.Node | None:
    """The composed YAML of the file at `path`, for line numbers; None when it cannot be read."""
    try:
        return load_yaml(path)[1]
    except ConfigFileError:
        return None


def line_of(path: Path | str, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of `loc` in the YAML file at `path` (as far as the file has it), None when unreadable."""
    node = line_tree(path)
    return node_at(node, loc).start_mark.line + 1 if node is not None else None


def located(path: Path | str | None, loc: tuple[int | str, ...], message: str,
            error: type[ConfigFileError] = ConfigFileError) -> ConfigFileError:
    """An `error` about the field at `loc` of the file at `path`, found after the file was
    loaded (a fault its target cannot do, a bad override): the line is looked up again."""
    field = ".".join(str(p) for p in loc) or None
    if path is None:
        return error("<experiment>", None, field, message)
    return error(path, line_of(path, loc), field, message)


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigFileError(path, line, None, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}): "
                              "is this a YAML file?") from None


_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path | str) -> tuple[Any, yaml.Node | None]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError(path, None, None, f"cannot read file: {exc.strerror}") from exc
    text = _decode(path, raw)
    try:
        # Parsed once (libyaml's parser when PyYAML has it); the data is built from the node tree that gives lines.
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigFileError(path, line, None, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a control character, a NUL)
        line = text[: exc.position].count("\n") + 1
        raise ConfigFileError(path, line, None, f"invalid YAML: {exc.reason} (character {exc.character!r})") from None
    except RecursionError:
        raise ConfigFileError(path, None, None, "invalid YAML: nested too deeply") from None
    return data, node


def parse_model(
    model: type[M], data: Any, path: Path | str, node: yaml.Node | None = None, prefix: tuple[int | str, ...] = ()
) -> M:
    """Validate `data` (loaded from `path`, found at `prefix` in it) as `model`; the first error becomes a ConfigFileError."""
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = prefix + _data_path(data, tuple(err["loc"]))
        line = node_at(node, loc).start_mark.line + 1 if node is not None else None
        field = ".".join(str(p) for p in loc) or None
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; `cachechaos schema` lists the fields)"
        elif not loc and not isinstance(data, dict):
            message = f"the file must hold a mapping of fields (`name: value` lines), not {_kind_of(data)}"
        raise ConfigFileError(path, line, field, message) from None


def _kind_of(data: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(data), type(data).__name__)


def load_model(model: type[M], path: Path | str) -> M:
    data, node = load_yaml(path)
    return parse_model(model, data, path, node)
