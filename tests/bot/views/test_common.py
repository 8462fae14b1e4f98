"""Shared rendering pieces: the HTML checker, escaping on every screen, text fallbacks, buttons."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.views import callbacks as cb
from bot.views.common import (
    MAX_ROW,
    article_summary,
    article_title,
    button,
    button_rows,
    content_language,
    markup,
    safe_url,
    tag_name,
)
from bot.views.detail import render_article_detail
from bot.views.lists import render_article_list, top_header
from bot.views.notices import Notice, render_notice
from bot.views.share import render_inline_card, render_share
from bot.views.start import render_welcome
from bot.views.tags import render_tags
from storage.schemas import ArticleView
from tests.bot.views.helpers import NOW, assert_rendered, assert_telegram_html, make_tag


def test_checker_catches_bad_html() -> None:
    for bad in ["<b>x", "<b>x</i>", "a & b", "<script>x</script>", "1 < 2", "&foo;", "<br/>"]:
        with pytest.raises(AssertionError):
            assert_telegram_html(bad)
    assert_telegram_html('<b>ok</b> &amp; <a href="https://x.y/?a=1&amp;b=2">x</a>')


def test_escaping_in_titles_and_user_text(seed: ArticleView) -> None:
    evil = replace(
        seed,
        title={"en": "<script>alert(1)</script> & co", "zh": "<b>粗体</b>&"},
        summary={"en": "1 < 2 && 3 > 2"},
        source="<i>evil</i>",
        url='https://example.com/?q="><script>&x=1',
        tags=(make_tag(1, "<tag>&", "<标签>&"),),
    )
    for lang in ("en", "zh"):
        renders = [
            render_article_detail(evil, lang, 0, now=NOW),
            render_article_list(top_header(lang), [evil], lang),
            render_share(evil, lang, "digest_bot"),
            render_inline_card(evil, lang, "digest_bot"),
            render_tags([make_tag(1, "<tag>&", "<标签>&", 3)], set(), lang),
            render_welcome("<b>Eve</b> & Mallory", lang),
            render_notice(Notice.BAD_TIMEZONE, lang, value="<Mars/Base>&"),
            render_notice(Notice.NO_RESULTS, lang, query="<script>"),
        ]
        for rendered in renders:
            text = assert_rendered(rendered)
            assert "<script>" not in text
            assert "<i>evil</i>" not in text
    text = render_article_detail(evil, "en", 0, now=NOW)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
    assert 'href="https://example.com/?q=&quot;&gt;&lt;script&gt;&amp;x=1"' in text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (" https://e.x/a?b=1 ", "https://e.x/a?b=1"),
        ("http://e.x", "http://e.x"),
        ("javascript:alert(1)", None),
        ("ftp://e.x/file", None),
        ("https://", None),
        ("https://e.x/a b", None),
        ("http://[::1", None),  # urlsplit raises on it
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_titles_summaries_and_tags_fall_back_to_the_other_language() -> None:
    article = ArticleView(
        id=3,
        external_id="x",
        url="https://e.x/a",
        source=None,
        title={"zh": "  标题\n一 "},
        summary={"zh": "摘要", "en": "  "},
        analysis={},
        hot=1,
        quality=2,
        impact=3,
        published_at=NOW,
    )
    assert content_language(article, "en") == "zh"
    assert article_title(article, "en") == "标题 一"
    assert article_summary(article, "en") == "摘要"
    assert article_title(replace(article, title={}), "zh") == "#3"
    tag = make_tag(1, "Research", "研究")
    assert tag_name(tag, "zh") == "研究"
    assert tag_name(replace(tag, names={"en": "Research"}), "zh") == "Research"
    assert tag_name(replace(tag, names={}), "en") == "research"


def test_button_rows_and_markup() -> None:
    keys = [button(str(i), cb.Noop()) for i in range(12)]
    assert [len(row) for row in button_rows(keys, 5)] == [5, 5, 2]
    assert [len(row) for row in button_rows(keys, 99)] == [MAX_ROW, 12 - MAX_ROW]
    assert markup([[], []]) is None
    keyboard = markup([[], keys[:2]])
    assert keyboard is not None and len(keyboard.inline_keyboard) == 1
    assert keyboard.inline_keyboard[0][0].callback_data == "noop"
