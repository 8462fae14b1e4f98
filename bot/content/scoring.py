"""A transparent scorer for articles that arrive without scores (feed entries mostly).

Every number here is documented in docs/scoring.md; change both together.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.content.langdetect import is_cjk

HOT_HALF_LIFE_HOURS = 24.0
HOT_RECENCY_POINTS = 70
HOT_VIEWS_POINTS = 30
HOT_VIEWS_SATURATION = 100_000  # views at which the views part is full

SUMMARY_FULL_UNITS = 300
ANALYSIS_FULL_UNITS = 3_000
CJK_UNITS = 3  # one ideograph carries about as much as three Latin letters

IMPACT_BASE = 10
IMPACT_PER_TAG = 5
IMPACT_MAX_TAG_POINTS = 15


@dataclass(frozen=True, slots=True)
class Theme:
    points: int
    tags: frozenset[str]
    keywords: tuple[str, ...]


# Matched against tag slugs and, as whole words (substrings for Chinese), title + summary.
THEMES: dict[str, Theme] = {
    "regulation": Theme(
        30,
        frozenset({"regulation", "policy", "law", "government", "antitrust"}),
        (
            "regulation",
            "regulator",
            "regulators",
            "ban",
            "banned",
            "antitrust",
            "lawsuit",
            "ai act",
            "export control",
            "export controls",
            "legislation",
            "监管",
            "法规",
            "禁令",
            "立法",
            "出口管制",
            "诉讼",
        ),
    ),
    "funding": Theme(
        25,
        frozenset({"funding", "finance", "finance-ai", "ipo", "investment", "acquisition"}),
        (
            "funding",
            "raises",
            "raised",
            "valuation",
            "ipo",
            "acquisition",
            "acquires",
            "billion",
            "investment",
            "融资",
            "上市",
            "收购",
            "估值",
            "投资",
            "亿",
        ),
    ),
    "chips": Theme(
        25,
        frozenset({"chips", "hardware", "semiconductors", "gpu", "compute"}),
        (
            "chip",
            "chips",
            "gpu",
            "gpus",
            "semiconductor",
            "semiconductors",
            "nvidia",
            "tsmc",
            "compute",
            "datacenter",
            "data center",
            "芯片",
            "算力",
            "英伟达",
            "半导体",
            "数据中心",
        ),
    ),
    "model-release": Theme(
        25,
        frozenset({"model-release", "product-launch", "llm", "open-source", "launch"}),
        (
            "release",
            "releases",
            "released",
            "launch",
            "launches",
            "launched",
            "unveils",
            "open-source",
            "open source",
            "open-weight",
            "llm",
            "发布",
            "推出",
            "开源",
            "大模型",
        ),
    ),
    "research": Theme(
        15,
        frozenset({"research", "paper", "science"}),
        ("research", "paper", "breakthrough", "benchmark", "study", "研究", "论文", "突破"),
    ),
    "safety": Theme(
        20,
        frozenset({"safety", "security", "privacy"}),
        (
            "safety",
            "security",
            "breach",
            "vulnerability",
            "jailbreak",
            "privacy",
            "安全",
            "漏洞",
            "隐私",
        ),
    ),
}


def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    parts = []
    for keyword in keywords:
        if any(is_cjk(c) for c in keyword):
            parts.append(re.escape(keyword))
        else:
            parts.append(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])")
    return re.compile("|".join(parts))


_THEME_PATTERNS = {name: _keyword_pattern(theme.keywords) for name, theme in THEMES.items()}


@dataclass(frozen=True, slots=True)
class Scores:
    hot: int
    quality: int
    impact: int


@dataclass(frozen=True, slots=True)
class ScoreInput:
    """The fields the scorer looks at: what a feed entry or an import record has."""

    published_at: datetime
    title: Mapping[str, str] = field(default_factory=dict)
    summary: Mapping[str, str] = field(default_factory=dict)
    analysis: Mapping[str, str] = field(default_factory=dict)
    views: int = 0
    tags: Collection[str] = ()


def text_units(text: str) -> int:
    """Length where an ideograph counts CJK_UNITS and any other character 1."""
    return sum(CJK_UNITS if is_cjk(c) else 1 for c in text.strip())


def hot_score(published_at: datetime, views: int, now: datetime) -> int:
    age_hours = max(0.0, (now - published_at).total_seconds() / 3600)
    recency = 0.5 ** (age_hours / HOT_HALF_LIFE_HOURS)
    popularity = min(1.0, math.log10(1 + max(0, views)) / math.log10(1 + HOT_VIEWS_SATURATION))
    return _clamp(HOT_RECENCY_POINTS * recency + HOT_VIEWS_POINTS * popularity)


def quality_score(
    title: Mapping[str, str], summary: Mapping[str, str], analysis: Mapping[str, str]
) -> int:
    complete_languages = sum(
        1 for lang in title if title[lang].strip() and summary.get(lang, "").strip()
    )
    summary_units = max((text_units(t) for t in summary.values()), default=0)
    analysis_units = max((text_units(t) for t in analysis.values()), default=0)
    points = (
        20 * min(2, complete_languages)
        + (15 if analysis_units else 0)
        + 20 * min(1.0, summary_units / SUMMARY_FULL_UNITS)
        + 25 * min(1.0, analysis_units / ANALYSIS_FULL_UNITS)
    )
    return _clamp(points)


def matched_themes(
    title: Mapping[str, str], summary: Mapping[str, str], tags: Collection[str]
) -> list[str]:
    text = "\n".join([*title.values(), *summary.values()]).lower()
    slugs = set(tags)
    return [
        name
        for name, theme in THEMES.items()
        if slugs & theme.tags or _THEME_PATTERNS[name].search(text)
    ]


def impact_score(
    title: Mapping[str, str], summary: Mapping[str, str], tags: Collection[str]
) -> int:
    themes = matched_themes(title, summary, tags)
    tag_points = min(IMPACT_MAX_TAG_POINTS, IMPACT_PER_TAG * len(set(tags)))
    return _clamp(IMPACT_BASE + tag_points + sum(THEMES[name].points for name in themes))


def score(item: ScoreInput, now: datetime) -> Scores:
    """Deterministic 0–100 scores for ``item`` as of ``now`` (aware datetimes)."""
    return Scores(
        hot=hot_score(item.published_at, item.views, now),
        quality=quality_score(item.title, item.summary, item.analysis),
        impact=impact_score(item.title, item.summary, item.tags),
    )


def _clamp(value: float) -> int:
    return max(0, min(100, round(value)))
