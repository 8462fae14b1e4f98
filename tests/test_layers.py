"""Imports point down: handlers → services → views → storage, with no cycles.

Read from the source with ``ast`` (nothing is imported), so a test run shows every offending
import at once. Imports under ``if TYPE_CHECKING:`` count for the layer rules (a type is a
dependency too) but not for cycles (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage")
SERVICES = ("bot.catalog", "bot.content", "bot.delivery")

# (importer prefix, imported prefix) pairs allowed although they cross a rule.
ALLOWED = {
    # The digest builder renders the digest it validates and sends.
    ("bot.delivery.digest", "bot.views.digest"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str) -> str | None:
    """The project module an import refers to (``a.b.c`` → ``a.b.c`` or its package)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> Iterator[tuple[str, bool]]:
    """(imported project module, at run time?) for every import in ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]

    def visit(nodes: list[ast.stmt], runtime: bool, top: bool) -> Iterator[tuple[str, bool]]:
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if (found := _resolve(alias.name)) is not None:
                        yield found, runtime and top
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                for alias in node.names:
                    found = _resolve(f"{base}.{alias.name}") or _resolve(base)
                    if found is not None:
                        yield found, runtime and top
            elif isinstance(node, ast.If) and _is_type_checking(node):
                yield from visit(node.body, False, top)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield from visit(node.body, runtime, False)
            else:
                # Compound statements (try/except, with, for, match, ...): their blocks.
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, (ast.ExceptHandler, ast.match_case)):
                        yield from visit(child.body, runtime, top)
                for field in ("body", "orelse", "finalbody"):
                    block = getattr(node, field, None)
                    if isinstance(block, list):
                        yield from visit(
                            [n for n in block if isinstance(n, ast.stmt)], runtime, top
                        )

    yield from visit(tree.body, True, True)


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _allowed(importer: str, imported: str) -> bool:
    return any(_under(importer, a) and _under(imported, b) for a, b in ALLOWED)


def _violations(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for module in sorted(MODULES):
        if not any(_under(module, p) for p in importers):
            continue
        for imported, _runtime in _imports(module):
            if any(_under(imported, f) for f in forbidden) and not _allowed(module, imported):
                bad.append(f"{module} imports {imported}")
    return bad


def test_storage_imports_nothing_above_it() -> None:
    assert _violations(("storage",), ("bot", "handlers")) == []


def test_views_import_no_services_or_handlers() -> None:
    assert _violations(("bot.views",), (*SERVICES, "handlers", "bot.app")) == []


def test_services_import_no_views_or_handlers() -> None:
    assert _violations(SERVICES, ("bot.views", "handlers", "bot.app")) == []


def test_only_the_app_wires_handlers() -> None:
    bad = [
        f"{module} imports {imported}"
        for module in sorted(MODULES)
        if _under(module, "bot") and module != "bot.app"
        for imported, _runtime in _imports(module)
        if _under(imported, "handlers")
    ]
    assert bad == []


def test_no_import_cycles() -> None:
    graph = {m: {i for i, runtime in _imports(m) if runtime and i != m} for m in MODULES}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        path.append(module)
        for nxt in sorted(graph[module]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)
    assert cycles == []
