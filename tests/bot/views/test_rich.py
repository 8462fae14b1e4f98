"""The detail view as one rich message: what it holds, that Telegram's rules accept it (checked
with the emulator's validator), and None when it cannot fit."""

from __future__ import annotations

import dataclasses

from bot.emulator.rich_html import parse_rich_html
from bot.rules import RICH_MESSAGE_LIMIT
from bot.views import callbacks as cb
from bot.views.rich import render_article_rich
from tests.bot.views.helpers import NOW, load_seed, maximal
from tests.bot.views.test_newsroom import ENRICHED


def test_the_seed_is_one_valid_rich_message_with_the_analysis_folded() -> None:
    seed = load_seed()
    rendered = render_article_rich(seed, "en", NOW)
    assert rendered is not None
    html, keyboard = rendered
    document = parse_rich_html(html)
    for paragraph in (p for p in seed.analysis["en"].split("\n") if p.strip()):
        assert " ".join(paragraph.split()) in document.text
    details = next(b for b in document.blocks if b["type"] == "details")
    assert details["summary"] == "📝 Analysis" and "is_open" not in details
    assert "1 day ago · updated 19 hours ago" in document.text
    assert keyboard is not None
    buttons = [b for row in keyboard.inline_keyboard for b in row]
    assert cb.decode(buttons[0].callback_data) == cb.Share(seed.id)
    assert buttons[1].url == seed.url


def test_chinese_reader_gets_chinese_labels() -> None:
    rendered = render_article_rich(load_seed(), "zh", NOW)
    assert rendered is not None
    document = parse_rich_html(rendered[0])
    table = next(b for b in document.blocks if b["type"] == "table")
    assert [c["text"] for c in table["cells"][0]] == ["🔥 热度", "⭐ 质量", "💥 影响力"]


def test_newsroom_labels_are_kept() -> None:
    rendered = render_article_rich(ENRICHED, "en", NOW)
    assert rendered is not None
    text = parse_rich_html(rendered[0]).text
    assert "Machine-translated by AI" in text and "Scores estimated by AI" in text
    assert "Also covered by Chip Daily, Tech Times" in text
    assert "AI-generated content, for reference only" in text


def test_hostile_text_is_escaped_and_still_valid() -> None:
    ugly = dataclasses.replace(
        maximal(1),
        title={"en": "T&<i>" * 100},
        summary={"en": "<&>\"' " * 200},
        analysis={"en": "Sentence & <b>. " * 400},
    )
    rendered = render_article_rich(ugly, "en", NOW)
    assert rendered is not None
    text = parse_rich_html(rendered[0]).text
    assert "Sentence & <b>." in text and "T&<i>T&<i>" in text


def test_what_cannot_fit_is_none() -> None:
    assert render_article_rich(maximal(2), "en", NOW) is None
    assert render_article_rich(maximal(2), "zh", NOW) is None
    just_over = dataclasses.replace(load_seed(), analysis={"en": "x" * RICH_MESSAGE_LIMIT})
    assert render_article_rich(just_over, "en", NOW) is None
