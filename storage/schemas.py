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
