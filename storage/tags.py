"""Tags as readers see them: slugs, names and how many articles carry each (in a window)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import Article, ArticleTag, Tag
from storage.schemas import TagInfo


def _tag_counts(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> dict[int, int]:
    statement = select(ArticleTag.tag_id, func.count()).group_by(col(ArticleTag.tag_id))
    if since is not None or until is not None:
        statement = statement.join(Article, col(Article.id) == col(ArticleTag.article_id))
        if since is not None:
            statement = statement.where(col(Article.published_at) >= since)
        if until is not None:
            statement = statement.where(col(Article.published_at) <= until)
    return {tag_id: count for tag_id, count in session.exec(statement)}


def _info(tag: Tag, counts: Mapping[int, int]) -> TagInfo:
    assert tag.id is not None
    return TagInfo(
        id=tag.id, slug=tag.slug, names=dict(tag.names), article_count=counts.get(tag.id, 0)
    )


def tag_slugs(*, session: Session) -> dict[int, str]:
    """Every tag's slug by id."""
    return {
        int(i): str(slug)
        for i, slug in session.exec(select(Tag.id, Tag.slug))
        if i is not None  # the primary key, never NULL in a stored row
    }


def tags_with_counts(
    *, session: Session, since: datetime | None = None, until: datetime | None = None
) -> list[TagInfo]:
    """Every tag with the number of articles carrying it (published in ``[since, until]``
    when given), ordered by slug."""
    counts = _tag_counts(session, since, until)
    return [_info(tag, counts) for tag in session.exec(select(Tag).order_by(col(Tag.slug)))]


def find_tag(
    *, session: Session, text: str, since: datetime | None = None, until: datetime | None = None
) -> TagInfo | None:
    """The tag whose slug or name in any language equals ``text``, ignoring case."""
    wanted = text.strip().casefold()
    if not wanted:
        return None
    tags = list(session.exec(select(Tag).order_by(col(Tag.slug))))
    # Slugs first, so a tag named like another tag's slug cannot shadow it.
    match = next((tag for tag in tags if tag.slug.casefold() == wanted), None)
    if match is None:
        match = next(
            (
                tag
                for tag in tags
                if any(name.strip().casefold() == wanted for name in tag.names.values())
            ),
            None,
        )
    if match is None:
        return None
    return _info(match, _tag_counts(session, since, until))
