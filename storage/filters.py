"""Chat filters: what a chat muted (tags, keywords), its minimum score, "only my language".

Stored as typed; :func:`filter_conditions` turns a :class:`FilterSpec` into SQL conditions on
``article`` that the ranking query and :func:`keep_matching` share, so every list and the
digest filter the same way. Keywords are bound as escaped LIKE patterns (plain substrings,
case-insensitive): no user-supplied regular expression ever runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, bindparam, delete, exists, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.db import insert_ignoring_conflicts
from storage.models import Article, ArticleTag, ArticleText, ChatFilter, ChatMutedTag
from storage.ranking import RankWeights, score_expression
from storage.schemas import ChatFilters
from storage.types import utcnow

MAX_KEYWORDS = 30
MAX_KEYWORD_CHARS = 64
_MUTED = ChatMutedTag.__table__  # type: ignore[attr-defined]
_FILTER = ChatFilter.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """Filters ready for SQL: keywords already expanded to every spelling to match."""

    muted_tag_ids: frozenset[int] = frozenset()
    keywords: tuple[str, ...] = ()
    min_score: int = 0
    languages: tuple[str, ...] | None = None  # article text languages accepted; None: any

    @property
    def active(self) -> bool:
        return bool(self.muted_tag_ids or self.keywords or self.min_score or self.languages)


def get_filters(*, session: Session, chat_id: int) -> ChatFilters:
    row = session.get(ChatFilter, chat_id)
    muted = session.exec(select(ChatMutedTag.tag_id).where(ChatMutedTag.chat_id == chat_id))
    return ChatFilters(
        muted_tag_ids=frozenset(muted),
        keywords=tuple(row.keywords) if row else (),
        min_score=row.min_score if row else 0,
        own_language_only=row.own_language_only if row else False,
    )


# Built once, Core rows: the broadcast asks this for every claimed batch, and building the
# ORM statements anew each time cost more than running them.
_FILTER_ROWS = sa_select(
    _FILTER.c.chat_id, _FILTER.c.keywords, _FILTER.c.min_score, _FILTER.c.own_language_only
).where(_FILTER.c.chat_id.in_(bindparam("ids", expanding=True)))
_MUTED_ROWS = sa_select(_MUTED.c.chat_id, _MUTED.c.tag_id).where(
    _MUTED.c.chat_id.in_(bindparam("ids", expanding=True))
)


def filters_for_chats(*, session: Session, chat_ids: Iterable[int]) -> dict[int, ChatFilters]:
    """Filters of the chats that have any (chats without filters are left out)."""
    ids = sorted(set(chat_ids))
    if not ids:
        return {}
    rows = {r.chat_id: r for r in session.execute(_FILTER_ROWS, {"ids": ids})}
    muted: dict[int, set[int]] = {}
    for chat_id, tag_id in session.execute(_MUTED_ROWS, {"ids": ids}):
        muted.setdefault(chat_id, set()).add(tag_id)
    found: dict[int, ChatFilters] = {}
    for chat_id in set(rows) | set(muted):
        row = rows.get(chat_id)
        filters = ChatFilters(
            muted_tag_ids=frozenset(muted.get(chat_id, ())),
            keywords=tuple(row.keywords) if row else (),
            min_score=row.min_score if row else 0,
            own_language_only=row.own_language_only if row else False,
        )
        if filters.active:
            found[chat_id] = filters
    return found


def _row(session: Session, chat_id: int) -> ChatFilter:
    row = session.get(ChatFilter, chat_id)
    if row is None:
        row = ChatFilter(chat_id=chat_id, keywords=[])
        session.add(row)
    return row


def update_filters(
    *,
    session: Session,
    chat_id: int,
    min_score: int | None = None,
    own_language_only: bool | None = None,
    keywords: Sequence[str] | None = None,
) -> None:
    row = _row(session, chat_id)
    if min_score is not None:
        row.min_score = min_score
    if own_language_only is not None:
        row.own_language_only = own_language_only
    if keywords is not None:
        row.keywords = list(keywords)  # a new list, so the JSON column is seen as changed
    row.updated_at = utcnow()
    session.flush()


def set_tag_muted(*, session: Session, chat_id: int, tag_id: int, muted: bool) -> None:
    if muted:  # a double tap must not fail on the second insert
        insert_ignoring_conflicts(session, _MUTED, [{"chat_id": chat_id, "tag_id": tag_id}])
    else:
        session.execute(
            delete(ChatMutedTag).where(
                col(ChatMutedTag.chat_id) == chat_id, col(ChatMutedTag.tag_id) == tag_id
            )
        )


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filter_conditions(spec: FilterSpec, weights: RankWeights) -> list[ColumnElement[bool]]:
    """WHERE conditions on ``article`` for ``spec`` (empty when it filters nothing)."""
    conditions: list[ColumnElement[bool]] = []
    if spec.muted_tag_ids:
        conditions.append(
            ~exists().where(
                and_(
                    col(ArticleTag.article_id) == col(Article.id),
                    col(ArticleTag.tag_id).in_(sorted(spec.muted_tag_ids)),
                )
            )
        )
    if spec.keywords:
        hits = [
            or_(
                col(ArticleText.title).ilike(_like(word), escape="\\"),
                col(ArticleText.summary).ilike(_like(word), escape="\\"),
            )
            for word in spec.keywords
        ]
        conditions.append(
            ~exists().where(and_(col(ArticleText.article_id) == col(Article.id), or_(*hits)))
        )
    if spec.min_score > 0:
        conditions.append(score_expression(weights) >= float(spec.min_score))
    if spec.languages:
        # A title in the language: what the lists show (an analysis alone does not count).
        conditions.append(
            exists().where(
                and_(
                    col(ArticleText.article_id) == col(Article.id),
                    col(ArticleText.lang).in_(list(spec.languages)),
                    col(ArticleText.title) != "",
                )
            )
        )
    return conditions


def keep_matching(
    *, session: Session, ids: Sequence[int], spec: FilterSpec, weights: RankWeights
) -> list[int]:
    """``ids`` (in their order) that pass ``spec``: for lists not ranked by the ranking query."""
    conditions = filter_conditions(spec, weights)
    if not ids or not conditions:
        return list(ids)
    kept: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        statement = select(col(Article.id)).where(col(Article.id).in_(chunk), *conditions)
        kept.update(i for i in session.exec(statement).all() if i is not None)
    return [i for i in ids if i in kept]
