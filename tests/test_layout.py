"""The package keeps the shape of DESIGN.md §1: no import cycles, pure core, `cli`/`demo` on top."""

import ast
from pathlib import Path

import slo_pipelines

PACKAGE = Path(slo_pipelines.__file__).parent
PURE = ("slo_pipelines.catalog", "slo_pipelines.engine")
FORBIDDEN_IN_PURE = ("dagster", "sqlalchemy", "requests", "jinja2")
TOP = ("slo_pipelines.cli", "slo_pipelines.demo")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Every module's imports of other modules, at any depth (function-level imports included)."""
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets.update(f"{node.module}.{a.name}" for a in node.names)
        graph[name] = {t for t in targets if t in modules} | {
            t for t in targets if not t.startswith("slo_pipelines")
        }
    return graph


def test_no_import_cycles() -> None:
    graph = {k: {t for t in v if t.startswith("slo_pipelines")} for k, v in _imports().items()}
    # a package's __init__ importing its own sub-modules is how packages work, not a cycle
    for name in graph:
        graph[name] = {t for t in graph[name] if t != name and not t.startswith(name + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_catalog_and_engine_stay_pure() -> None:
    offenders = [
        f"{name} imports {target}"
        for name, targets in _imports().items()
        if name.startswith(PURE)
        for target in targets
        if target.split(".")[0] in FORBIDDEN_IN_PURE
    ]
    assert offenders == []


def test_nothing_below_cli_and_demo_imports_them() -> None:
    offenders = [
        f"{name} imports {target}"
        for name, targets in _imports().items()
        if not name.startswith(TOP)
        for target in targets
        if target.startswith(TOP)
    ]
    assert offenders == []


def test_engine_is_split_by_domain() -> None:
    engine = PACKAGE / "engine"
    top_level = sorted(p.name for p in engine.glob("*.py"))
    assert top_level == ["__init__.py"]
    for package in (p for p in engine.iterdir() if p.is_dir() and p.name != "__pycache__"):
        init = package / "__init__.py"
        assert init.exists(), f"{package} has no __init__.py"
        assert ast.get_docstring(ast.parse(init.read_text())), f"{package}: no docstring"
    assert {"budgets", "sli", "alerting"} <= {p.name for p in engine.iterdir() if p.is_dir()}
