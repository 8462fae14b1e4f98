"""Article detail: content in both languages, analysis pages, navigation, size limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.views.detail import analysis_pages, render_article_detail
from storage.schemas import ArticleView
from tests.bot.views.helpers import NOW, all_buttons, assert_rendered, maximal


def _all_detail_pages(article: ArticleView, lang: str) -> list[str]:
    first_text, keyboard = render_article_detail(article, lang, 0, now=NOW)
    total = len(analysis_pages(article, lang)) or 1
    texts = [first_text]
    assert_rendered((first_text, keyboard))
    for page in range(1, total):
        rendered = render_article_detail(article, lang, page, now=NOW)
        texts.append(assert_rendered(rendered))
    return texts


def test_seed_detail_english(seed: ArticleView) -> None:
    text = assert_rendered(render_article_detail(seed, "en", 0, now=NOW))
    assert (
        "<b>Two Markets&#x27; Margin Financing Balance Decreases by 76.61 Billion Yuan</b>" in text
    )
    assert "🔥 Hot 65 · ⭐ Quality 65 · 💥 Impact 60" in text
    assert "Finance AI · Product Launch · Research" in text
    assert "1 day ago · updated 19 hours ago" in text
    assert "45 views" in text
    assert "A single-day evaporation" in text
    assert "AI-generated content, for reference only" in text
    assert '<a href="https://example.com/ai-news/seed-margin-financing-2026">' in text
    assert "Silicon Valley" in text
    assert "金融AI" not in text and "两市" not in text


def test_seed_detail_chinese(seed: ArticleView) -> None:
    text = assert_rendered(render_article_detail(seed, "zh", 0, now=NOW))
    assert "<b>两市融资余额减少76.61亿元</b>" in text
    assert "🔥 热度 65 · ⭐ 质量 65 · 💥 影响力 60" in text
    assert "金融AI · 产品发布 · 研究" in text
    assert "1天前 · 19小时前更新" in text
    assert "45 次浏览" in text
    assert "本文由 AI 生成，仅供参考" in text
    assert '<a href="https://example.com/ai-news/seed-margin-financing-2026">' in text
    assert "智能手机市场的警报" in text
    assert "Finance AI" not in text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_seed_detail_pages_cover_analysis(seed: ArticleView, lang: str) -> None:
    pages = _all_detail_pages(seed, lang)
    joined = "".join(pages)
    for paragraph in seed.analysis[lang].split("\n\n"):
        tail = paragraph.strip()[-30:].replace("'", "&#x27;").replace('"', "&quot;")
        assert tail in joined


def test_detail_navigation_buttons(seed: ArticleView) -> None:
    long = replace(seed, analysis={"en": "\n\n".join([seed.analysis["en"]] * 6)})
    total = len(analysis_pages(long, "en"))
    assert total >= 3
    _text, first = render_article_detail(long, "en", 0, now=NOW)
    data = [b.callback_data for b in all_buttons(first)]
    assert f"a:{long.id}:1" in data and "noop" in data and f"sh:{long.id}" in data
    text, middle = render_article_detail(long, "en", 1, now=NOW)
    assert f"page 2/{total}" in text
    nav = [b.callback_data for b in middle.inline_keyboard[0]] if middle else []
    assert nav == [f"a:{long.id}:0", "noop", f"a:{long.id}:2"]
    # Out-of-range pages are clamped (a stale button after the article shrank).
    clamped, _ = render_article_detail(long, "en", 999, now=NOW)
    assert f"page {total}/{total}" in clamped


def test_detail_pages_independent_of_now(seed: ArticleView) -> None:
    long = replace(seed, analysis={"en": "\n\n".join([seed.analysis["en"]] * 6)})
    assert analysis_pages(long, "en") == analysis_pages(long, "en")
    later = render_article_detail(long, "en", 2, now=NOW + timedelta(days=400))[0]
    sooner = render_article_detail(long, "en", 2, now=NOW)[0]
    assert later == sooner  # pages after the first carry no time-dependent parts


def test_detail_missing_language_is_labelled(seed: ArticleView) -> None:
    zh_only = replace(
        seed,
        title={"zh": seed.title["zh"]},
        summary={"zh": seed.summary["zh"]},
        analysis={"zh": seed.analysis["zh"]},
    )
    text = assert_rendered(render_article_detail(zh_only, "en", 0, now=NOW))
    assert "Shown in Chinese — there is no English version." in text
    assert seed.title["zh"] in text
    assert "1 day ago" in text  # the interface stays English
    en_only = replace(seed, title={"en": seed.title["en"]})
    text = assert_rendered(render_article_detail(en_only, "zh", 0, now=NOW))
    assert "以英文显示——本文暂无中文版本。" in text


def test_detail_without_disclaimer_or_analysis(seed: ArticleView) -> None:
    plain = replace(seed, ai_generated=False, analysis={}, updated_at=None, url="javascript:x")
    text, keyboard = render_article_detail(plain, "en", 0, now=NOW)
    assert_rendered((text, keyboard))
    assert "AI-generated" not in text and "Analysis" not in text and "updated" not in text
    assert "<a " not in text  # non-http URLs never become links
    assert [b.callback_data for b in all_buttons(keyboard)] == [f"sh:{plain.id}"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_maximal_article_detail_fits_every_page(lang: str) -> None:
    article = maximal(0)
    pages = _all_detail_pages(article, lang)
    assert len(pages) > 3
