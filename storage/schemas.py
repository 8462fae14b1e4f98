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

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.title)


# --- operations reports (``bot.catalog.ops`` builds them, ``bot.views`` renders them) --------


@dataclass(frozen=True, slots=True)
class RunReport:
    id: int
    started_at: datetime
    finished_at: datetime | None
    planned: int
    sent: int
    failed: int
    unknown: int
    skipped: int
    pending: int
    duration_s: float | None  # first to last message sent
    msgs_per_s: float | None
    # Planner lag: send time minus due time of the run's sent digests (seconds).
    lag_first_s: float | None = None
    lag_max_s: float | None = None


@dataclass(frozen=True, slots=True)
class StatusReport:
    now: datetime
    runs: list[RunReport]
    states: dict[str, int]
    due_pending: int
    subscribers: int
    inactive: int


@dataclass(frozen=True, slots=True)
class DryRunKind:
    """One kind of chat (language × followed tags × count) and what it would get today."""

    language: str
    tags: tuple[str, ...]  # slugs; empty = all tags
    count: int
    chats: int
    articles: list[ArticleView]  # best first


@dataclass(frozen=True, slots=True)
class StatsReport:
    """What the admins' /stats shows: the status, subscribers by (language, chat type), articles."""

    status: StatusReport
    subscribers: list[tuple[str | None, str, int]]
    articles: int
