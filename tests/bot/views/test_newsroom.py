"""Labels of machine-written text, "also covered by", rationales and the /stats lines."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from bot.rules import MESSAGE_LIMIT, utf16_len
from bot.views.detail import render_article_detail
from bot.views.lists import render_article_list, top_header
from bot.views.newsroom import newsroom_lines
from storage.schemas import ArticleView, NewsroomState

NOW = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)

SOURCE_ONLY = ArticleView(
    id=7,
    external_id="x",
    url="https://example.com/x",
    source="Wire",
    title={"zh": "英伟达发布新GPU"},
    summary={"zh": "芯片制造商发布了新一代数据中心GPU。"},
    analysis={},
    hot=50,
    quality=50,
    impact=50,
    published_at=NOW,
)
ENRICHED = dataclasses.replace(
    SOURCE_ONLY,
    title={"zh": "英伟达发布新GPU", "en": "Nvidia unveils a new GPU"},
    summary={"zh": "芯片制造商发布了新一代数据中心GPU。", "en": "The chip maker unveiled a GPU."},
    analysis={"zh": "分析一。\n\n分析二。\n\n分析三。", "en": "One.\n\nTwo.\n\nThree."},
    origins={
        "en.title": "translated",
        "en.summary": "translated",
        "en.analysis": "generated",
        "zh.analysis": "generated",
    },
    rationales={
        "hot": {"en": "Everyone is talking about it.", "zh": "大家都在讨论。"},
        "quality": {"en": "Well sourced.", "zh": "来源可靠。"},
        "impact": {"en": "Shapes the market.", "zh": "影响市场。"},
    },
    also_covered_by=("Chip Daily", "Tech Times"),
)


def test_source_text_carries_no_label() -> None:
    text, _ = render_article_detail(SOURCE_ONLY, "zh", now=NOW)
    assert "机器翻译" not in text and "仅供参考" not in text and "另见" not in text


def test_machine_translated_text_is_labelled_in_the_readers_language() -> None:
    text, _ = render_article_detail(ENRICHED, "en", now=NOW)
    assert "Nvidia unveils a new GPU" in text
    assert "Machine-translated by AI" in text
    assert "there is no English version" not in text
    # A generated analysis carries the AI disclaimer though the publisher did not set it.
    assert "AI-generated content, for reference only" in text
    assert "<i>🤖 Scores estimated by AI:</i>\n🔥 <i>Everyone is talking about it.</i>" in text
    assert "Also covered by Chip Daily, Tech Times" in text


def test_the_chinese_reader_sees_the_source_title_and_the_generated_analysis_labelled() -> None:
    text, _ = render_article_detail(ENRICHED, "zh", now=NOW)
    assert "英伟达发布新GPU" in text and "机器翻译" not in text
    assert "仅供参考" in text  # the analysis shown was generated
    assert "大家都在讨论。" in text and "另见 Chip Daily, Tech Times 的报道" in text


def test_lists_name_the_other_sources_of_a_story() -> None:
    many = dataclasses.replace(ENRICHED, also_covered_by=("A", "B", "C", "D", "E"))
    text, _ = render_article_list(top_header("en"), [many], "en")
    assert "🗞 Also covered by A, B, C and 2 more" in text


def test_long_rationales_and_many_sources_still_fit_one_message() -> None:
    huge = dataclasses.replace(
        ENRICHED,
        title={"en": "T" * 500},
        summary={"en": "S " * 2000},
        analysis={"en": "A " * 20000},
        rationales={k: {"en": "R" * 1000} for k in ("hot", "quality", "impact")},
        also_covered_by=tuple(f"Source number {i}" for i in range(50)),
    )
    pages = 1
    page = 0
    while page < pages:
        text, keyboard = render_article_detail(huge, "en", page, now=NOW)
        assert utf16_len(text) <= MESSAGE_LIMIT
        if keyboard and page == 0:
            pages = int(keyboard.inline_keyboard[0][-2].text.split("/")[1])
        page += 1
    assert pages > 1


def test_stats_lines() -> None:
    state = NewsroomState(
        enabled=True,
        model="m",
        enriched=1200,
        pending=3,
        failed=1,
        tokens_today=15000,
        daily_budget=2000000,
    )
    assert newsroom_lines(state, "en") == [
        "Newsroom: 1,200 enriched · 3 pending · 1 failed",
        "Model tokens today: 15,000 of 2,000,000",
    ]
    off = dataclasses.replace(state, enabled=False)
    assert newsroom_lines(off, "zh") == ["AI 编辑部：未启用"]
    assert newsroom_lines(None, "en") == []
