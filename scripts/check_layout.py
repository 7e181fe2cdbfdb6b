#!/usr/bin/env python
"""Checks the layout rules of the code (run by tests/test_layout.py):

- no import circle between the project's modules, counting imports written inside functions too
  (a lazy import still ties the two modules together);
- no application module (outside migrations and tests) over MAX_LINES lines.

    python scripts/check_layout.py        # prints the circles and the long modules; exit 1 if any

Imports are read with ``ast``, nothing is executed. ``from package import name`` counts as an import of
``package.name`` when that is a module, else of ``package`` itself.
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hopen", "indicators", "funding", "ami", "envelopes", "audits")
MAX_LINES = 500


def application_files(root: Path = ROOT):
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, node: ast.ImportFrom, path: Path, root: Path) -> str:
    if not node.level:
        return node.module or ""
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = {module_name(path, root): path for path in application_files(root)}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, node, path, root)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            for target in targets:
                # `import a.b.c` also runs a and a.b; the edge that matters is to the deepest project module.
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []
    counter = [0]

    def visit(start):
        # Iterative Tarjan: the graph is deep enough to hit Python's recursion limit on some trees.
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(circles)


def long_modules(root: Path = ROOT, max_lines: int = MAX_LINES) -> list[tuple[str, int]]:
    result = []
    for path in application_files(root):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > max_lines:
            result.append((str(path.relative_to(root)), lines))
    return result


def main() -> int:
    circles = import_circles(import_graph())
    long = long_modules()
    for circle in circles:
        print("Cercle d'imports : " + " → ".join(circle))
    for path, lines in long:
        print(f"Module trop long : {path} ({lines} lignes > {MAX_LINES})")
    if not circles and not long:
        print("Aucun cercle d'imports, aucun module de plus de %d lignes." % MAX_LINES)
    return 1 if circles or long else 0


if __name__ == "__main__":
    sys.exit(main())
