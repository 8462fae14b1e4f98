"""Shared rendering rules: the Telegram-HTML checker itself, and escaping on every screen."""

from __future__ import annotations

from dataclasses import replace

import pytest

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
