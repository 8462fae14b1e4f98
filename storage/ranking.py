"""Ranking queries: which articles a chat gets next, best first.

Ranking formula
---------------
Every article carries three editorial scores (integers, 0-100): ``hot`` (how much it is being
talked about), ``quality`` (how well sourced and written) and ``impact`` (how much it matters).
A chat's candidates are ordered by the weighted score::

    score = hot * w_hot + quality * w_quality + impact * w_impact

with the weights from ``DIGESTBOT_WEIGHT_HOT`` / ``_QUALITY`` / ``_IMPACT`` (defaults 0.4,
0.35, 0.25). Only articles published inside the digest window (``DIGESTBOT_DIGEST_WINDOW``
hours, default 48) that the chat has not received before are candidates; a chat that follows
tags only gets articles carrying at least one of them (a chat following none gets every tag).
Ties are broken by the newer ``published_at``, then the higher article id, so the order is
always deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Float, Table, bindparam, literal, type_coerce
from sqlalchemy.sql import FromClause
from sqlmodel import Session, col, select

from storage.chats import followed_tag_ids
from storage.models import Article, ArticleTag, DeliveredArticle

_ARTICLE: Table = Article.__table__  # type: ignore[attr-defined]
_ARTICLE_TAG: Table = ArticleTag.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class RankWeights:
    """Weights of the three editorial scores in the ranking score (see module docstring)."""

    hot: float = 0.4
    quality: float = 0.35
    impact: float = 0.25

    def __post_init__(self) -> None:
        if min(self.hot, self.quality, self.impact) < 0:
            raise ValueError("ranking weights must not be negative")


def score_expression(
    weights: RankWeights, source: FromClause | None = None
) -> ColumnElement[float]:
    """``hot*w_hot + quality*w_quality + impact*w_impact`` as SQL (weights bound as floats).

    The one definition of the score: ranking and search order by it. ``source`` is the
    ``article`` table (default) or a subquery selecting its ``hot``, ``quality``, ``impact``.
    """
    # Float binds keep PostgreSQL from doing integer arithmetic and let SQLite cache one plan.
    w_hot = bindparam("w_hot", weights.hot, type_=Float())
    w_quality = bindparam("w_quality", weights.quality, type_=Float())
    w_impact = bindparam("w_impact", weights.impact, type_=Float())
    c = (source if source is not None else _ARTICLE).c
    total = c.hot * w_hot + c.quality * w_quality + c.impact * w_impact
    return type_coerce(total, Float())


def _candidate_filters(
    *,
    session: Session,
    chat_id: int | None,
    since: datetime,
    until: datetime | None,
    tag_ids: Sequence[int] | None,
    exclude_delivered: bool,
) -> list[ColumnElement[bool]] | None:
    """WHERE conditions for a chat's candidates; None when nothing can match."""
    if tag_ids is None and chat_id is not None:
        # Resolved up front (a tiny PK lookup) so the main query is a plain IN list the
        # planner can handle, instead of an "OR the chat follows nothing" correlated branch.
        tag_ids = sorted(followed_tag_ids(session=session, chat_id=chat_id)) or None
    elif tag_ids is not None and not tag_ids:
        return None
    # A story several feeds carry is ranked once: duplicates stand behind their first article.
    conditions: list[ColumnElement[bool]] = [
        col(Article.published_at) >= since,
        col(Article.duplicate_of).is_(None),
    ]
    if until is not None:
        conditions.append(col(Article.published_at) <= until)
    # A chat's filters are one primary-key probe per candidate in the window, so they cost the
    # same however long the chat's history or the tags' archive is. PostgreSQL would rather
    # hash the chat's whole delivered history (or every article of its tags) when its
    # estimates say so; OFFSET 0 keeps the subquery from being flattened into such a join.
    # Without a chat there is no history, and tags are ranked by ``_tag_window_ids``.
    probe = chat_id is not None and session.get_bind().dialect.name == "postgresql"
    if exclude_delivered and chat_id is not None:
        delivered = select(literal(1)).where(
            col(DeliveredArticle.chat_id) == chat_id,
            col(DeliveredArticle.article_id) == col(Article.id),
        )
        conditions.append(~(delivered.offset(0) if probe else delivered).exists())
    if tag_ids is not None:
        tagged = select(literal(1)).where(
            col(ArticleTag.article_id) == col(Article.id),
            col(ArticleTag.tag_id).in_(sorted(set(tag_ids))),
        )
        conditions.append((tagged.offset(0) if probe else tagged).exists())
    return conditions


def top_article_ids(
    *,
    session: Session,
    chat_id: int | None,
    limit: int,
    since: datetime,
    until: datetime | None = None,
    weights: RankWeights,
    tag_ids: Sequence[int] | None = None,
    exclude_delivered: bool = True,
    extra: Sequence[ColumnElement[bool]] = (),
) -> list[int]:
    """Best article ids for a chat, published in ``[since, until]``, by weighted score.

    ``extra``: more conditions on ``article`` (a chat's filters, ``storage.filters``).

    ``chat_id`` None ranks for nobody in particular (no delivered history, no followed tags).
    ``tag_ids`` overrides the chat's followed tags (for /tag); an explicit empty sequence
    matches nothing.
    """
    if limit <= 0:
        return []
    if chat_id is None and tag_ids:
        return _tag_window_ids(
            session=session,
            tag_ids=tag_ids,
            limit=limit,
            since=since,
            until=until,
            weights=weights,
            extra=extra,
        )
    conditions = _candidate_filters(
        session=session,
        chat_id=chat_id,
        since=since,
        until=until,
        tag_ids=tag_ids,
        exclude_delivered=exclude_delivered,
    )
    if conditions is None:
        return []
    conditions.extend(extra)
    score = score_expression(weights)
    statement = (
        select(col(Article.id))
        .where(*conditions)
        .order_by(score.desc(), col(Article.published_at).desc(), col(Article.id).desc())
        .limit(limit)
    )
    return [row for row in session.exec(statement).all() if row is not None]


def _tag_window_ids(
    *,
    session: Session,
    tag_ids: Sequence[int],
    limit: int,
    since: datetime,
    until: datetime | None,
    weights: RankWeights,
    extra: Sequence[ColumnElement[bool]],
) -> list[int]:
    """``top_article_ids`` for tags and no chat, from the tags' own rows of ``article_tag``.

    Each tag row carries its article's scores and, while the article is live, its
    ``published_at`` (copied by triggers, migration 0011): a tag's window is one range of
    ``ix_article_tag_rank_live`` instead of every article of the window probed for the tag
    (one tag, 30 days at 1M articles: ~2,000 rows read instead of ~27,000 plus a probe each).
    """
    # An alias, so a muted-tag filter's own ``article_tag`` subquery in ``extra`` is never
    # correlated to the rows ranked here.
    ranked = _ARTICLE_TAG.alias("ranked")
    tags = sorted(set(tag_ids))
    published = ranked.c.live_published_at
    conditions: list[ColumnElement[bool]] = [
        ranked.c.tag_id == tags[0] if len(tags) == 1 else ranked.c.tag_id.in_(tags),
        published >= since,
    ]
    if until is not None:
        conditions.append(published <= until)
    source: FromClause = ranked
    if extra:
        # The chat's filters are conditions on ``article``: one probe per row of the tags.
        source = ranked.join(_ARTICLE, _ARTICLE.c.id == ranked.c.article_id)
        conditions.extend(extra)
    score = score_expression(weights, ranked)
    statement = (
        select(ranked.c.article_id)
        .select_from(source)
        .where(*conditions)
        .order_by(score.desc(), published.desc(), ranked.c.article_id.desc())
        .limit(limit)
    )
    if len(tags) > 1:
        # An article carrying several of the tags has one row per tag, all with equal copies.
        statement = statement.group_by(
            ranked.c.article_id, ranked.c.hot, ranked.c.quality, ranked.c.impact, published
        )
    return [row for row in session.exec(statement).all() if row is not None]


def latest_article_ids(
    *,
    session: Session,
    limit: int,
    before: datetime | None = None,
    extra: Sequence[ColumnElement[bool]] = (),
) -> list[int]:
    """Newest article ids first (published strictly before ``before`` when given)."""
    if limit <= 0:
        return []
    statement = select(col(Article.id)).where(*extra)
    if before is not None:
        statement = statement.where(col(Article.published_at) < before)
    statement = statement.order_by(col(Article.published_at).desc(), col(Article.id).desc()).limit(
        limit
    )
    return [row for row in session.exec(statement).all() if row is not None]
