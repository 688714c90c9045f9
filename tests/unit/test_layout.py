"""The layout DESIGN.md section 11b describes, checked from the code's own imports:
dependencies point one way and no module imports itself back through others."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("streams", "agents", "tables", "devstack", "benchmarks", "woo_emulator",
            "trytond_woosync")
# What each package may import of the project (itself always).
ALLOWED = {
    "tables": set(),
    "streams": {"tables", "agents"},  # agents: only the composition root, streams.app
    "agents": {"streams", "tables"},
    "woo_emulator": set(),
    "trytond_woosync": set(),
    # The woosync command (devstack.cli) offers the benchmarks as verbs.
    "devstack": {"streams", "tables", "agents", "woo_emulator", "benchmarks"},
    "benchmarks": {"streams", "tables", "agents", "devstack", "woo_emulator"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path) -> set[str]:
    """Every project module ``path`` imports, at any depth of the file (a lazy import
    inside a function is still a dependency)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = here.split(".")[: -node.level] if path.name != "__init__.py" \
                    else here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join([*package, base]) if base else ".".join(package)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        out |= {n for n in names if n.split(".")[0] in PACKAGES}
    return out


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in project_imports(path):
            # "from a.b import c" names a.b.c: keep the longest name that is a module.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        edges[name] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_back() -> None:
    assert cycles(graph()) == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_dependencies_point_one_way() -> None:
    wrong = []
    for module, targets in graph().items():
        package = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other != package and other not in ALLOWED[package]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_only_the_composition_root_of_the_runtime_knows_the_agents() -> None:
    knowing = sorted(m for m, targets in graph().items()
                     if m.startswith("streams") and any(t.startswith("agents") for t in targets))
    assert knowing == ["streams.app"]


def test_the_worker_image_needs_no_tooling() -> None:
    """The Dockerfile copies streams, agents, tables and schemas only."""
    copied = {line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines()
              if line.startswith("COPY ") and not line.startswith("COPY requirements")}
    for module, targets in graph().items():
        if module.split(".")[0] in copied:
            assert {t.split(".")[0] for t in targets} <= copied, module
