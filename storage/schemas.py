"""Plain read models handed from storage to services and renderers (no session attached)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TagInfo:
    id: int
    slug: str
    names: Mapping[str, str]
    article_count: int = 0


@dataclass(frozen=True, slots=True)
class ArticleView:
    """Everything a renderer needs to show one article, in every language it has."""

    id: int
    external_id: str
    url: str
    source: str | None
    title: Mapping[str, str]
    summary: Mapping[str, str]
    analysis: Mapping[str, str]
    hot: int
    quality: int
    impact: int
    published_at: datetime
    updated_at: datetime | None = None
    views: int = 0
    ai_generated: bool = False
    tags: tuple[TagInfo, ...] = field(default_factory=tuple)
    # Texts the newsroom wrote: "<lang>.<field>" -> "translated" | "generated"; the source's
    # own texts are not in here.
    origins: Mapping[str, str] = field(default_factory=dict)
    # One line per score the newsroom gave: score name -> {lang: text}.
    rationales: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Sources of other articles telling the same story (shown once, here).
    also_covered_by: tuple[str, ...] = ()

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.title)

    def origin(self, lang: str, name: str) -> str | None:
        """``translated``/``generated`` when the newsroom wrote this text, else None."""
        return self.origins.get(f"{lang}.{name}")


@dataclass(frozen=True, slots=True)
class NewsroomState:
    """The newsroom's queue and today's spending, for ``digestbot status`` and /stats."""

    enabled: bool
    model: str
    enriched: int
    pending: int  # pending + running
    failed: int
    tokens_today: int
    daily_budget: int
