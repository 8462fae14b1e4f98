"""One story, one item: the articles the duplicate finder compares, and its verdicts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Table, update
from sqlmodel import Session, col, select

from storage.models import Article, ArticleEmbedding, ArticleText

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


def embeddings(*, session: Session, ids: Sequence[int], model: str) -> dict[int, ArticleEmbedding]:
    found: dict[int, ArticleEmbedding] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in session.exec(
            select(ArticleEmbedding).where(
                col(ArticleEmbedding.article_id).in_(chunk), ArticleEmbedding.model == model
            )
        ):
            found[row.article_id] = row
    return found


def save_embedding(
    *, session: Session, article_id: int, model: str, source_hash: str, vector: Sequence[float]
) -> None:
    row = session.get(ArticleEmbedding, article_id)
    if row is None:
        row = ArticleEmbedding(article_id=article_id, model=model, source_hash=source_hash)
    row.model, row.source_hash, row.vector = model, source_hash, list(vector)
    session.add(row)
    session.flush()


def also_covered_by(*, session: Session, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """Sources (else hosts) of the duplicates of each article, in import order."""
    found: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.exec(
            select(Article.duplicate_of, Article.source, Article.url)
            .where(col(Article.duplicate_of).in_(chunk))
            .order_by(col(Article.id))
        )
        for canonical, source, url in rows:
            if canonical is None:
                continue
            name = " ".join((source or "").split()) or urlsplit(url).hostname or url
            if name not in found[canonical]:
                found[canonical].append(name)
    return {key: tuple(names) for key, names in found.items()}
