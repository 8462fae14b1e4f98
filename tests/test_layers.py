"""Imports point down and never go round in a circle.

The direction rules are import-linter contracts in pyproject.toml (`make test` runs
`lint-imports`); these tests show that each contract holds and that it catches a planted
violation. Cycles are read from the source with ``ast`` (nothing is imported); imports under
``if TYPE_CHECKING:`` don't count for cycles (they never run).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage")


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


# One planted import per contract in pyproject.toml: each must break exactly that contract.
PLANTED = {
    "a view imports a service": ("bot/views/common.py", "import bot.catalog.articles", "Layers"),
    "storage imports the bot": ("storage/types.py", "import bot.config", "Layers"),
    "a service imports a view": ("bot/catalog/chats.py", "import bot.views.common", "Layers"),
    "a handler queries storage": ("handlers/start.py", "import storage.db", "Handlers reach"),
    "the emulator imports the bot": ("bot/emulator/errors.py", "import bot.config", "emulator"),
}


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("lint-imports")), "--no-logo", "--no-cache"]
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy, not the installed tree
    return subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_import_contracts_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_import_contracts_catch_a_planted_import(case: str, tmp_path: Path) -> None:
    for name in (*PACKAGES, "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    path, line, contract = PLANTED[case]
    target = tmp_path / path
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert len(broken) == 1 and contract in broken[0], result.stdout


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
