"""Catalog completeness, translators and Babel formatting."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.views import i18n
from bot.views.i18n import (
    format_datetime,
    format_day,
    format_number,
    format_relative,
    timezone_label,
    translator,
)

ROOT = Path(__file__).resolve().parents[3]
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
ZH_PO = LOCALES / "zh_Hans" / "LC_MESSAGES" / "messages.po"
HANT_PO = LOCALES / "zh_Hant" / "LC_MESSAGES" / "messages.po"
EN_PO = LOCALES / "en" / "LC_MESSAGES" / "messages.po"
# Must match the Makefile's `pybabel extract -k _ -k N_ -k ngettext:1,2 ... bot handlers`.
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "N_": None, "ngettext": (1, 2)}
SOURCE_DIRS = ("bot", "handlers")


def _msgid_key(msgid: str | tuple[str, ...] | list[str]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _code_msgids() -> set[str]:
    found: set[str] = set()
    for folder in SOURCE_DIRS:
        path = ROOT / folder
        if not path.is_dir():
            continue
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(path), method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(_msgid_key(message))
    return found


def _catalog_msgids(path: Path) -> set[str]:
    with path.open("rb") as fp:
        catalog = read_po(fp)
    return {_msgid_key(m.id) for m in catalog if m.id}


def test_pot_is_up_to_date_with_the_code() -> None:
    in_code = _code_msgids()
    in_pot = _catalog_msgids(POT)
    missing = sorted(in_code - in_pot)
    stale = sorted(in_pot - in_code)
    assert not missing, f"run `make i18n` — strings missing from messages.pot: {missing}"
    assert not stale, f"run `make i18n` — strings no longer in the code: {stale}"


@pytest.mark.parametrize("po", [EN_PO, ZH_PO, HANT_PO], ids=["en", "zh_Hans", "zh_Hant"])
def test_catalogs_contain_every_pot_msgid(po: Path) -> None:
    missing = sorted(_catalog_msgids(POT) - _catalog_msgids(po))
    assert not missing, f"run `make i18n-update` — {po.parent.parent.name} lacks: {missing}"


@pytest.mark.parametrize("po", [ZH_PO, HANT_PO], ids=["zh_Hans", "zh_Hant"])
def test_every_msgid_translated_in_chinese(po: Path) -> None:
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=po.parent.parent.name)
    pot_ids = _catalog_msgids(POT)
    problems: list[str] = []
    for message in catalog:
        if not message.id or _msgid_key(message.id) not in pot_ids:
            continue
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif not strings or not all(s.strip() for s in strings):
            problems.append(f"untranslated: {message.id!r}")
    assert not problems, "\n".join(problems)


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("po", [EN_PO, ZH_PO, HANT_PO], ids=["en", "zh_Hans", "zh_Hant"])
def test_translations_keep_placeholders_and_markup_free(po: Path) -> None:
    with po.open("rb") as fp:
        catalog = read_po(fp)
    for message in catalog:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        expected = _fields(ids[0]) | (_fields(ids[1]) if len(ids) > 1 else set())
        for text in strings:
            if not text:
                continue
            assert _fields(text) <= expected, (message.id, text)
            assert not re.search(r"[<>&]", text), f"raw HTML in a translation: {text!r}"


def test_chinese_catalog_has_single_plural_form() -> None:
    with ZH_PO.open("rb") as fp:
        catalog = read_po(fp, locale="zh_Hans")
    assert catalog.num_plurals == 1


def test_translator_translates_and_falls_back() -> None:
    zh = translator("zh")
    en = translator("en")
    assert zh.gettext("Settings") == "设置"
    assert en.gettext("Settings") == "Settings"
    assert zh.gettext("a string nobody translated") == "a string nobody translated"
    assert translator("zh-TW").lang == "zh_Hant"
    assert translator("zh-CN").lang == "zh"
    assert translator("xx").lang == "en"
    assert translator("zh") is zh  # cached


def test_plural_forms_work_in_both_languages() -> None:
    en, zh = translator("en"), translator("zh")
    assert en.ngettext("{n} view", "{n} views", 1) == "{n} view"
    assert en.ngettext("{n} view", "{n} views", 2) == "{n} views"
    assert zh.ngettext("{n} view", "{n} views", 1) == "{n} 次浏览"
    assert zh.ngettext("{n} view", "{n} views", 5) == "{n} 次浏览"


def test_po_fallback_when_mo_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "messages.po").write_bytes(ZH_PO.read_bytes())
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.clear_cache()
    try:
        assert translator("zh").gettext("Settings") == "设置"
    finally:
        monkeypatch.undo()
        i18n.clear_cache()


def test_format_relative() -> None:
    published = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)
    now = published + timedelta(days=1, hours=5)
    assert format_relative(published, now, "en") == "1 day ago"
    assert format_relative(published, now, "zh") == "1天前"
    updated = now - timedelta(hours=19)
    assert format_relative(updated, now, "en") == "19 hours ago"
    assert format_relative(updated, now, "zh") == "19小时前"
    assert format_relative(now, now, "en") == "just now"
    assert format_relative(now, now, "zh") == "刚刚"
    with pytest.raises(ValueError):
        format_relative(published.replace(tzinfo=None), now, "en")


def test_format_datetime_in_zone() -> None:
    moment = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    assert "8:00" in format_datetime(moment, "Asia/Shanghai", "en")
    assert "2026年11月25日" in format_datetime(moment, "Asia/Shanghai", "zh")
    assert format_day(moment, "Asia/Shanghai", "en") == "Wed, Nov 25"
    assert format_day(moment, "Asia/Shanghai", "zh") == "11月25日周三"
    # The same instant is still the 24th in New York.
    assert format_day(moment, "America/New_York", "en") == "Tue, Nov 24"


def test_format_number() -> None:
    assert format_number(45, "en") == "45"
    assert format_number(45, "zh") == "45"
    assert format_number(12345, "en") == "12,345"
    assert format_number(12345, "zh") == "12,345"


def test_timezone_label() -> None:
    winter = datetime(2026, 1, 15, tzinfo=UTC)
    summer = datetime(2026, 7, 15, tzinfo=UTC)
    assert timezone_label("Asia/Shanghai", "en", winter) == "Shanghai time (UTC+08:00)"
    assert timezone_label("Asia/Shanghai", "zh", winter) == "上海时间（UTC+08:00）"
    assert timezone_label("Asia/Taipei", "zh_Hant", winter) == "台北時間（UTC+08:00）"
    assert timezone_label("Europe/Berlin", "en", summer) == "Berlin time (UTC+02:00)"
    # UTC and fixed offsets are their own names: never "UTC (UTC+00:00)".
    assert timezone_label("UTC", "en", summer) == "UTC"
    assert timezone_label("UTC+05:30", "en", summer) == "UTC+05:30"
    assert timezone_label("UTC+05:30", "zh", summer) == "UTC+05:30"
