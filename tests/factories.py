"""Test data builders shared by every test module.

``make_article`` stores a bilingual, tagged article through the real upsert and commits it;
``article_record`` returns a valid interchange-format dict (see docs/article-format.md).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from storage.articles import ArticleData, TagData, merge_tag, upsert_article
from storage.models import Article, Delivery, Tag
from storage.outbox import insert_delivered
from storage.ranking import RankWeights, top_article_ids
from storage.types import utcnow

_counter = itertools.count(1)

DEFAULT_TAGS: dict[str, dict[str, str]] = {
    "model-release": {"en": "Model Release", "zh": "模型发布"},
    "research": {"en": "Research", "zh": "研究"},
}


def _tag(value: str | TagData | Mapping[str, Any]) -> TagData:
    if isinstance(value, TagData):
        return value
    if isinstance(value, str):
        return TagData(slug=value, names=DEFAULT_TAGS.get(value, {"en": value.replace("-", " ")}))
    return TagData(slug=value["slug"], names=dict(value.get("name", value.get("names", {}))))


def make_article(session: Session, **overrides: Any) -> Article:
    """Store an article (en + zh texts, two tags, fresh) and return its row.

    Any ``ArticleData`` field can be overridden; ``tags`` may be slugs, ``TagData`` or
    ``{slug, name}`` dicts; ``published_at`` defaults to one hour ago.
    """
    n = next(_counter)
    data = ArticleData(
        external_id=f"test-{n}",
        url=f"https://example.com/news/{n}",
        source="Example News",
        published_at=datetime.now(UTC) - timedelta(hours=1),
        title={"en": f"Article {n}: a new model is released", "zh": f"文章{n}:新模型发布"},
        summary={"en": f"Summary of article {n}.", "zh": f"文章{n}的摘要。"},
        analysis={"en": f"Analysis of article {n}.\n\nSecond paragraph.", "zh": f"文章{n}的分析。"},
        hot=50,
        quality=50,
        impact=50,
        views=10,
        tags=tuple(_tag(t) for t in DEFAULT_TAGS),
    )
    if "tags" in overrides:
        tags: Sequence[str | TagData | Mapping[str, Any]] = overrides.pop("tags")
        overrides["tags"] = tuple(_tag(t) for t in tags)
    data = dataclasses.replace(data, **overrides)
    upsert_article(session=session, data=data)
    session.commit()
    return session.exec(select(Article).where(Article.external_id == data.external_id)).one()


def article_record(**overrides: Any) -> dict[str, Any]:
    """A valid interchange-format record; ``None`` as an override removes that key."""
    n = next(_counter)
    record: dict[str, Any] = {
        "id": f"record-{n}",
        "url": f"https://example.com/records/{n}",
        "source": "Example News",
        "title": {
            "en": f"Record {n}: chip export rules tighten",
            "zh": f"记录{n}:芯片出口规则收紧",
        },
        "summary": {"en": f"Summary of record {n}.", "zh": f"记录{n}的摘要。"},
        "analysis": {"en": f"Analysis {n}.\n\nMore.", "zh": f"分析{n}。"},
        "scores": {"hot": 70, "quality": 60, "impact": 50},
        "tags": ["chips", {"slug": "regulation", "name": {"en": "Regulation", "zh": "监管"}}],
        "published_at": "2026-06-15T09:00:00+08:00",
        "updated_at": "2026-06-15T14:00:00+08:00",
        "views": 12,
        "ai_generated": False,
    }
    for key, value in overrides.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def upsert_tag(*, session: Session, slug: str, names: Mapping[str, str]) -> Tag:
    """Create the tag or merge ``names`` into its names, as an import does (no commit)."""
    return merge_tag(session=session, slug=slug, names=names)[0]


def mark_delivered(
    *,
    session: Session,
    chat_id: int,
    article_ids: Sequence[int],
    delivered_at: datetime | None = None,
) -> None:
    """Record that the chat received these articles, as a sent digest does (no commit)."""
    pairs = [(chat_id, article_id) for article_id in dict.fromkeys(article_ids)]
    insert_delivered(session=session, pairs=pairs, now=delivered_at or utcnow())


def count_candidates(
    *,
    session: Session,
    chat_id: int | None,
    since: datetime,
    until: datetime | None = None,
    tag_ids: Sequence[int] | None = None,
    exclude_delivered: bool = True,
) -> int:
    """How many articles ``top_article_ids`` can return for these filters (no limit)."""
    return len(
        top_article_ids(
            session=session,
            chat_id=chat_id,
            limit=2**31 - 1,
            since=since,
            until=until,
            weights=RankWeights(),
            tag_ids=tag_ids,
            exclude_delivered=exclude_delivered,
        )
    )


def deliveries_for_chat(*, session: Session, chat_id: int) -> list[Delivery]:
    """The chat's outbox rows, oldest first."""
    return list(
        session.exec(
            select(Delivery).where(col(Delivery.chat_id) == chat_id).order_by(col(Delivery.id))
        )
    )
