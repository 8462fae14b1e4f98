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


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """A chat's settings as the chat services return them and the settings screen shows them.

    ``language`` is ``"en"`` or ``"zh"``; ``digest_time`` is 24-hour ``HH:MM`` in ``timezone``.
    """

    chat_id: int
    chat_type: str
    language: str
    timezone: str
    digest_time: str
    article_count: int
    subscribed: bool
    followed_tag_ids: frozenset[int]
    followed_tag_names: tuple[str, ...]
    next_digest_at: datetime | None


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
class InstanceRow:
    id: str
    host: str
    pid: int
    mode: str
    roles: tuple[str, ...]
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True, slots=True)
class StatusReport:
    now: datetime
    runs: list[RunReport]
    states: dict[str, int]
    due_pending: int
    subscribers: int
    inactive: int
    # Instances with a recent heartbeat, and registered ones that fell silent (crashed).
    live: list[InstanceRow] = field(default_factory=list)
    silent: list[InstanceRow] = field(default_factory=list)
    owners: list[tuple[str, str | None, int]] = field(default_factory=list)  # state, owner, n


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
    newsroom: NewsroomState | None = None


@dataclass(frozen=True, slots=True)
class ChatFilters:
    """What a chat filtered out, as stored: keywords as typed, tags by id."""

    muted_tag_ids: frozenset[int] = frozenset()
    keywords: tuple[str, ...] = ()
    min_score: int = 0
    own_language_only: bool = False
    muted_tags: tuple[tuple[int, str], ...] = ()  # (id, name), filled by services for display

    @property
    def active(self) -> bool:
        return bool(self.muted_tag_ids or self.keywords or self.min_score or self.own_language_only)
