"""The architecture as the imports show it: no import cycles between the project's modules (lazy imports
inside functions count too), and lower layers never import upper ones.

Layers, bottom to top: the core (file formats, arithmetic, model, data, reference engine) -> calibration and
firmware_export (each uses the core only) -> the runtimes, parity and the commands -> the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("edgelenet", "calibration", "firmware_export")
# The core: file formats, arithmetic, the data readers. It imports nothing above it.
CORE = ("edgelenet.errors", "edgelenet.fileio", "edgelenet.cache", "edgelenet.intmath", "edgelenet.family",
        "edgelenet.resample", "edgelenet.schema", "edgelenet.schema_model", "edgelenet.artifact",
        "edgelenet.images", "edgelenet.data", "edgelenet.datasets", "edgelenet.runtime_api", "edgelenet.layer_plan")
# What calibration/ and firmware_export/ may use of edgelenet: the core (torch-free) and the version.
ALLOWED_BELOW = {"calibration": ("edgelenet.errors",), "firmware_export": ("edgelenet",) + CORE}
# The top: the CLI, the commands it calls and the whole-pipeline run; nothing below imports them.
TOP = {"edgelenet.cli": ("edgelenet.__main__",), "edgelenet.commands": ("edgelenet.cli", "edgelenet.pipeline"),
       "edgelenet.pipeline": ("edgelenet.cli",)}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Project modules `path` imports anywhere in its body (`from a import b` counts a.b if it is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    graph = {name: imports_of(path, known) - {name} for name, path in modules.items()}
    for name in graph:  # importing a.b runs a/__init__.py first: that edge is real but never a cycle to report
        graph[name] = {target for target in graph[name] if not name.startswith(target + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_projects_imports():
    graph = import_graph()
    assert "edgelenet.errors" in graph["firmware_export.layout"]
    assert "edgelenet.commands" in graph["edgelenet.cli"] and "calibration.collect" in graph["edgelenet.quantize"]


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for name, targets in sorted(graph.items()):
        for target in sorted(targets):
            package = name.split(".")[0]
            if package in ALLOWED_BELOW and target.startswith("edgelenet") and target not in ALLOWED_BELOW[package]:
                found.append(f"{name} imports {target}")
            elif name in CORE and not (target in CORE or target == "edgelenet"):
                found.append(f"{name} (core) imports {target}")
            elif target in TOP and name not in TOP[target]:
                found.append(f"{name} imports {target}")
    return found


def test_the_layer_rules_catch_an_upward_import():
    assert layer_violations({"firmware_export.render": {"edgelenet.model"}}) == \
        ["firmware_export.render imports edgelenet.model"]
    assert layer_violations({"edgelenet.data": {"calibration.selection"}}) == \
        ["edgelenet.data (core) imports calibration.selection"]
    assert layer_violations({"edgelenet.quantize": {"edgelenet.commands"}}) == \
        ["edgelenet.quantize imports edgelenet.commands"]


def test_lower_layers_never_import_upper_ones():
    assert layer_violations(import_graph()) == []
