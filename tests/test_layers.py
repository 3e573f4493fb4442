"""The package picture holds: no import cycles between packages or modules, and the store at the bottom.

Read from the source with `ast`, so function-level and TYPE_CHECKING imports count too: a cycle
hidden inside a function is still a cycle in the design.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import cachechaos

ROOT = Path(cachechaos.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in ROOT.rglob("*.py"):
        parts = ("cachechaos", *path.relative_to(ROOT).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name a (possibly relative) `from ... import` names, seen from `module` at `path`."""
    if node.level == 0:
        return node.module or ""
    # Relative to the importing module's package: an __init__ is its own package.
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The cachechaos modules `path` imports, relative imports resolved (a `from package import submodule`
    names the submodule)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, path, node)
            names = [source, *(f"{source}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(name for name in names if name in modules)
    # A submodule runs after its packages' __init__ files, so naming an ancestor (`from . import errors`)
    # is no dependency on it; the submodule named (`cachechaos.proxy.errors`) still counts.
    return {name for name in found if not module.startswith(name + ".")}


def _package(module: str) -> str:
    """`cachechaos.runtime.local` -> `runtime`; a top-level module is its own package; the root is `cachechaos`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "cachechaos"


def _module_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) - {name} for name, path in modules.items()}


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, imported in _module_graph().items():
        graph[_package(module)].update(_package(m) for m in imported)
    for package, targets in graph.items():
        targets.discard(package)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    nodes = set(graph) | {n for targets in graph.values() for n in targets}
    for start in sorted(nodes):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph.get(start, ())))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_relative_imports_are_resolved() -> None:
    modules = _modules()
    tree = ast.parse("from . import sibling\nfrom ..store import files\nfrom .toxics.base import Toxic\n")
    froms = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    api = modules["cachechaos.proxy.api"]
    assert [_absolute("cachechaos.proxy.api", api, n) for n in froms] == [
        "cachechaos.proxy", "cachechaos.store", "cachechaos.proxy.toxics.base"]
    init = modules["cachechaos.proxy"]
    assert _absolute("cachechaos.proxy", init, froms[0]) == "cachechaos.proxy"
    # proxy/ uses relative imports: its edges are seen.
    assert any(m.startswith("cachechaos.proxy.") for m in _module_graph()["cachechaos.proxy.server"])


def test_no_package_level_import_cycle() -> None:
    graph = _package_graph()
    assert {"store", "runtime", "experiment", "checks", "report", "traffic", "faults"} <= set(graph), sorted(graph)
    cycles = _cycles(graph)
    assert cycles == [], "import cycles between packages: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_no_module_level_import_cycle() -> None:
    cycles = _cycles(_module_graph())
    assert cycles == [], "import cycles between modules: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_store_is_the_bottom_layer() -> None:
    graph = _package_graph()
    assert graph.get("store", set()) - {"cachechaos"} == set(), graph.get("store")
    assert graph.get("history", set()) <= {"store"}, graph.get("history")
    for package in ("checks", "traffic", "report", "runtime"):
        assert "experiment" not in graph.get(package, set()), f"{package} imports experiment"
