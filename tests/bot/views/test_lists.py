"""Article lists and their headers: content, buttons, localized dates, size limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.views.digest import render_digest
from bot.views.lists import (
    digest_header,
    latest_header,
    render_article_list,
    search_header,
    tag_header,
    top_header,
)
from storage.schemas import ArticleView
from tests.bot.views.helpers import NOW, all_buttons, assert_rendered, make_tag, maximal


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_list_of_ten_maximal_articles_fits(lang: str) -> None:
    articles = [maximal(i) for i in range(10)]
    for header in (
        top_header(lang),
        latest_header(lang),
        tag_header(make_tag(1, "<x>" * 100, "标" * 300), lang, 7),
        search_header("&" * 500, lang),
        digest_header(lang, "Asia/Shanghai", NOW),
    ):
        text, keyboard = render_article_list(header, articles, lang)
        assert_rendered((text, keyboard))
        assert f"<b>#{articles[-1].id} · " in text
    text, keyboard = render_digest(articles, lang, "Asia/Shanghai", NOW)
    assert_rendered((text, keyboard))
    buttons = list(all_buttons(keyboard))
    assert [b.text for b in buttons if b.text.startswith("📖")] == [f"📖 {a.id}" for a in articles]
    assert len([b for b in buttons if b.text.startswith("↗")]) == 10


def test_list_content(seed: ArticleView) -> None:
    text, keyboard = render_article_list(top_header("en"), [seed, seed], "en")
    assert_rendered((text, keyboard))
    # Items are numbered by the id /article and /share take, and show their age.
    assert "<b>#7 · Two Markets&#x27; Margin" in text
    assert "🕒 " in text
    assert "🔥 65 · ⭐ 65 · 💥 60" in text
    assert "Finance AI, Product Launch, Research" in text
    assert "…" in text  # the long summary is cut at a word boundary
    assert [b.callback_data for b in all_buttons(keyboard)] == [
        "a:7:0",
        "a:7:0",
        "sh:7",
        "sh:7",
    ]
    zh = render_article_list(latest_header("zh"), [seed], "zh")[0]
    assert "金融AI、产品发布、研究" in zh and "最新文章" in zh


def test_digest_header_is_localized() -> None:
    moment = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert digest_header("en", "Asia/Shanghai", moment) == (
        "📰 <b>Your AI digest · Wed, Nov 25</b>"
    )
    assert digest_header("zh", "Asia/Shanghai", moment) == "📰 <b>你的 AI 日报 · 11月25日周三</b>"


def test_empty_list() -> None:
    text, keyboard = render_article_list(top_header("zh"), [], "zh")
    assert_rendered((text, keyboard))
    assert keyboard is None and "暂时还没有文章" in text
