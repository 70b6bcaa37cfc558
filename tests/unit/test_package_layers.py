"""The architecture's rule (ARCHITECTURE.md, Layers; issue 12): no two packages of
`src/hugmood` import each other, directly or round a loop, and nothing outside `entrypoints`
imports the composition root. Imports only for type checking do not count."""

from __future__ import annotations

import ast
from pathlib import Path

import hugmood

ROOT = Path(hugmood.__file__).parent


def imported_packages(path: Path) -> set[str]:
    """The other top-level packages (or modules) of hugmood that `path` imports at run time."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(node)
        for branch in ast.walk(tree)
        if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
        for node in ast.walk(branch)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found.update(n.split(".")[1] for n in names if n.startswith("hugmood."))
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        unit = path.relative_to(ROOT).parts[0].removesuffix(".py")
        edges.setdefault(unit, set()).update(imported_packages(path) - {unit})
    return edges


def loops(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every package that can reach itself, with the path back."""
    found = []
    for start in sorted(edges):
        paths = [[start]]
        seen = {start}
        while paths:
            path = paths.pop()
            for nxt in sorted(edges.get(path[-1], ())):
                if nxt == start:
                    found.append([*path, start])
                elif nxt not in seen:
                    seen.add(nxt)
                    paths.append([*path, nxt])
    return found


def test_no_package_imports_another_that_imports_it_back() -> None:
    cycles = loops(graph())
    assert cycles == [], " ; ".join(" -> ".join(c) for c in cycles[:5])


def test_only_entrypoints_import_the_composition_root() -> None:
    importers = sorted(p for p, to in graph().items() if "bootstrap" in to)
    assert importers == ["entrypoints"]
