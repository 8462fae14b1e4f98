"""Translatable strings are literals pybabel can extract; Chinese catalogs use Chinese
typography (full-width punctuation next to Chinese text, 、 between list items).

``_()`` / ``ngettext()`` take literals only; strings marked with ``N_`` in a table are
translated with ``Translator.marked``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

from bot.views.i18n import join_items

ROOT = Path(__file__).resolve().parents[3]
SOURCE_DIRS = ("bot", "handlers")
# Call names pybabel extracts (Makefile: -k _ -k N_ -k ngettext:1,2, plus gettext).
_ONE = {"_", "N_", "gettext"}
_TWO = {"ngettext"}


def _name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def msgid_problems(path: Path) -> list[str]:
    """Translation calls in ``path`` that pybabel would miss or extract wrongly."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    for fstring in (n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)):
        for inner in ast.walk(fstring):
            if isinstance(inner, ast.Call) and _name(inner) in _ONE | _TWO:
                problems.append(f"{path}:{inner.lineno}: translation call inside an f-string")
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        name = _name(call)
        wanted = 1 if name in _ONE else 2 if name in _TWO else 0
        if not wanted:
            continue
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        if isinstance(receiver, ast.Attribute) and receiver.attr == "translations":
            continue  # the Translator's own wrappers around gettext (bot/views/i18n.py)
        args = call.args[:wanted]
        if len(args) < wanted or not all(_is_literal(a) for a in args):
            problems.append(f"{path}:{call.lineno}: {name}() argument is not a string literal")
    return problems


def _sources() -> list[Path]:
    return [p for d in SOURCE_DIRS for p in sorted((ROOT / d).rglob("*.py"))]


def test_every_translatable_string_is_a_literal_outside_f_strings() -> None:
    problems = [problem for path in _sources() for problem in msgid_problems(path)]
    assert problems == []


def test_the_scan_catches_a_planted_f_string_msgid(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch.py"
    scratch.write_text(
        "def render(_, name):\n"
        "    heading = f\"<b>{_('What I can do')}</b>\"\n"
        "    greeting = _(f'Hello {name}')\n"
        "    word = _(name)\n"
        "    return heading, greeting, word, _('fine')\n",
        encoding="utf-8",
    )
    problems = msgid_problems(scratch)
    assert len(problems) == 3, problems
    assert "inside an f-string" in problems[0]
    assert all("fine" not in p for p in problems)


_CJK = "[\u3400-\u9fff\uf900-\ufaff]"
_HALF_WIDTH_NEXT_TO_CHINESE = re.compile(rf"{_CJK}\s?[,;:!?()]|[,;!?(]\s?{_CJK}|{_CJK},")


def test_chinese_catalogs_use_full_width_punctuation() -> None:
    bad: list[str] = []
    for name in ("zh_Hans", "zh_Hant"):
        po = ROOT / "locales" / name / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as fp:
            catalog = read_po(fp)
        for message in catalog:
            strings = [message.string] if isinstance(message.string, str) else message.string
            bad += [f"{name}: {s!r}" for s in strings if _HALF_WIDTH_NEXT_TO_CHINESE.search(s)]
    assert bad == []


def test_list_items_are_joined_the_chinese_way() -> None:
    assert join_items(["芯片", "政策"], "zh") == "芯片、政策"
    assert join_items(["晶片", "政策"], "zh_Hant") == "晶片、政策"
    assert join_items(["chips", "policy"], "en") == "chips, policy"
