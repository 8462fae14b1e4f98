"""One story, one item: the articles the duplicate finder compares, and its verdicts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, update
from sqlmodel import Session, col, select

from storage.models import Article, ArticleText

_ARTICLE: Table = Article.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class StoryCandidate:
    """An article's own (source) title and summary per language, in import order."""

    id: int
    url: str
    created_at: datetime
    duplicate_of: int | None
    texts: Mapping[str, tuple[str, str]]


def story_candidates(*, session: Session, since: datetime) -> list[StoryCandidate]:
    """Articles published since ``since``, oldest import first."""
    rows = session.exec(
        select(Article.id, Article.url, Article.created_at, Article.duplicate_of)
        .where(col(Article.published_at) >= since)
        .order_by(col(Article.created_at), col(Article.id))
    ).all()
    ids = [int(r[0]) for r in rows if r[0] is not None]
    texts: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for text in session.exec(select(ArticleText).where(col(ArticleText.article_id).in_(chunk))):
            texts[text.article_id][text.lang] = (text.title, text.summary)
    return [
        StoryCandidate(int(aid), url, created, dup, texts[int(aid)])
        for aid, url, created, dup in rows
        if aid is not None
    ]


def set_duplicates(*, session: Session, verdicts: Mapping[int, int | None]) -> int:
    """Write ``article id -> id of the story's first article`` (None: its own story);
    returns how many rows changed."""
    changed = 0
    by_target: dict[int | None, list[int]] = defaultdict(list)
    for article_id, target in verdicts.items():
        by_target[target].append(article_id)
    for target, ids in by_target.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            result = session.execute(
                update(_ARTICLE)
                .where(
                    _ARTICLE.c.id.in_(chunk),
                    _ARTICLE.c.duplicate_of.is_not(target)
                    if target is None
                    else (_ARTICLE.c.duplicate_of.is_(None) | (_ARTICLE.c.duplicate_of != target)),
                )
                .values(duplicate_of=target)
            )
            changed += int(getattr(result, "rowcount", 0) or 0)
    return changed
