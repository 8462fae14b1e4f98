"""The newsroom's queue, generated fields and LLM usage (see docs/newsroom.md).

Claims are conditional UPDATEs (``state`` and lease checked in the WHERE clause), so any
number of processes may work the queue: exactly one of them wins each article.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, func, or_, update
from sqlmodel import Session, col, select

from storage.db import insert_ignoring_conflicts
from storage.generated import Enriched
from storage.models import (
    Article,
    ArticleTag,
    ArticleText,
    Enrichment,
    GeneratedField,
    Tag,
)

PENDING = "pending"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
STATES = (PENDING, RUNNING, DONE, FAILED)

TRANSLATED = "translated"
GENERATED = "generated"

_ENRICHMENT: Table = Enrichment.__table__  # type: ignore[attr-defined]
_IN_CHUNK = 500


# --- what the source says ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceArticle:
    """An article as its publisher sent it (no generated field), for building a request."""

    id: int
    url: str
    source: str | None
    published_at: datetime
    title: Mapping[str, str]
    summary: Mapping[str, str]
    analysis: Mapping[str, str]
    scores_given: bool
    tags: tuple[str, ...]
    source_hash: str


def source_hash(
    texts: Mapping[str, tuple[str, str, str]], *, scores_given: bool, tags: Iterable[str]
) -> str:
    """Hash of everything a request is built from: unchanged source → no new request."""
    payload = {
        "texts": {lang: list(texts[lang]) for lang in sorted(texts)},
        "scores_given": scores_given,
        "tags": sorted(set(tags)),
    }
    raw = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


def _source_articles(session: Session, ids: Sequence[int]) -> dict[int, SourceArticle]:
    if not ids:
        return {}
    articles = {
        a.id: a for a in session.exec(select(Article).where(col(Article.id).in_(ids))) if a.id
    }
    texts: dict[int, dict[str, tuple[str, str, str]]] = defaultdict(dict)
    for row in session.exec(select(ArticleText).where(col(ArticleText.article_id).in_(ids))):
        texts[row.article_id][row.lang] = (row.title, row.summary, row.analysis)
    tags: dict[int, list[str]] = defaultdict(list)
    rows = session.exec(
        select(ArticleTag.article_id, Tag.slug)
        .join(Tag, col(Tag.id) == col(ArticleTag.tag_id))
        .where(col(ArticleTag.article_id).in_(ids), col(ArticleTag.generated).is_(False))
    )
    for article_id, slug in rows:
        tags[article_id].append(slug)
    result = {}
    for article_id, article in articles.items():
        own = texts[article_id]
        scores_given = not article.scores_estimated
        result[article_id] = SourceArticle(
            id=article_id,
            url=article.url,
            source=article.source,
            published_at=article.published_at,
            title={lang: t[0] for lang, t in own.items() if t[0]},
            summary={lang: t[1] for lang, t in own.items() if t[1]},
            analysis={lang: t[2] for lang, t in own.items() if t[2]},
            scores_given=scores_given,
            tags=tuple(sorted(tags[article_id])),
            source_hash=source_hash(own, scores_given=scores_given, tags=tags[article_id]),
        )
    return result


def source_article(*, session: Session, article_id: int) -> SourceArticle | None:
    return _source_articles(session, [article_id]).get(article_id)


# --- the queue ---------------------------------------------------------------------------


def sync_queue(*, session: Session, since: datetime, now: datetime, limit: int = 2000) -> int:
    """Queue articles published since ``since`` that are new or whose source changed.

    Only articles whose ``modified_at`` moved since the last look are hashed again; a changed
    hash puts the article back to pending with fresh attempts. Duplicates are left out: they
    are never shown. Returns how many articles became pending.
    """
    stale = session.exec(
        select(Article.id, Article.modified_at, Enrichment.seen_modified_at)
        .join(Enrichment, col(Enrichment.article_id) == col(Article.id), isouter=True)
        .where(
            col(Article.published_at) >= since,
            col(Article.duplicate_of).is_(None),
            or_(
                col(Enrichment.article_id).is_(None),
                col(Enrichment.seen_modified_at).is_(None),
                col(Enrichment.seen_modified_at) != col(Article.modified_at),
            ),
        )
        .order_by(col(Article.published_at).desc())
        .limit(limit)
    ).all()
    ids = [int(row[0]) for row in stale if row[0] is not None]
    modified = {int(row[0]): row[1] for row in stale if row[0] is not None}
    queued = 0
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        sources = _source_articles(session, chunk)
        rows = {
            r.article_id: r
            for r in session.exec(select(Enrichment).where(col(Enrichment.article_id).in_(chunk)))
        }
        for article_id in chunk:
            source = sources.get(article_id)
            if source is None:
                continue
            row = rows.get(article_id)
            if row is None:
                insert_ignoring_conflicts(
                    session,
                    _ENRICHMENT,
                    [
                        {
                            "article_id": article_id,
                            "state": PENDING,
                            "source_hash": source.source_hash,
                            "attempts": 0,
                            "tokens": 0,
                            "next_attempt_at": now,
                            "seen_modified_at": modified[article_id],
                            "updated_at": now,
                        }
                    ],
                )
                queued += 1
                continue
            values: dict[str, object] = {"seen_modified_at": modified[article_id]}
            if row.source_hash != source.source_hash:
                values |= {
                    "state": PENDING,
                    "source_hash": source.source_hash,
                    "attempts": 0,
                    "reason": None,
                    "next_attempt_at": now,
                    "lease_owner": None,
                    "lease_until": None,
                    "updated_at": now,
                }
                queued += 1
            session.execute(
                update(_ENRICHMENT).where(_ENRICHMENT.c.article_id == article_id).values(**values)
            )
    return queued


def due_article_ids(*, session: Session, now: datetime, limit: int) -> list[int]:
    """Pending articles whose next attempt has come, and running ones whose lease expired;
    newest news first; duplicates left out."""
    due = or_(
        (col(Enrichment.state) == PENDING)
        & or_(col(Enrichment.next_attempt_at).is_(None), col(Enrichment.next_attempt_at) <= now),
        (col(Enrichment.state) == RUNNING) & (col(Enrichment.lease_until) < now),
    )
    rows = session.exec(
        select(Enrichment.article_id)
        .join(Article, col(Article.id) == col(Enrichment.article_id))
        # A duplicate is never shown, so it is never worth a request.
        .where(due, col(Article.duplicate_of).is_(None))
        .order_by(col(Article.published_at).desc(), col(Article.id).desc())
        .limit(limit)
    )
    return list(rows)


def claim(
    *, session: Session, article_id: int, owner: str, now: datetime, lease: timedelta
) -> bool:
    """Take the article for ``owner`` until ``now + lease``; False when another worker has it."""
    result = session.execute(
        update(_ENRICHMENT)
        .where(
            _ENRICHMENT.c.article_id == article_id,
            or_(
                (_ENRICHMENT.c.state == PENDING)
                & or_(
                    _ENRICHMENT.c.next_attempt_at.is_(None),
                    _ENRICHMENT.c.next_attempt_at <= now,
                ),
                (_ENRICHMENT.c.state == RUNNING) & (_ENRICHMENT.c.lease_until < now),
            ),
        )
        .values(
            state=RUNNING,
            lease_owner=owner,
            lease_until=now + lease,
            attempts=_ENRICHMENT.c.attempts + 1,
            updated_at=now,
        )
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _finish(session: Session, article_id: int, owner: str, now: datetime, **values: object) -> bool:
    result = session.execute(
        update(_ENRICHMENT)
        .where(
            _ENRICHMENT.c.article_id == article_id,
            _ENRICHMENT.c.state == RUNNING,
            _ENRICHMENT.c.lease_owner == owner,
        )
        .values(lease_owner=None, lease_until=None, updated_at=now, **values)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def add_tokens(*, session: Session, article_id: int, tokens: int) -> None:
    session.execute(
        update(_ENRICHMENT)
        .where(_ENRICHMENT.c.article_id == article_id)
        .values(tokens=_ENRICHMENT.c.tokens + tokens)
    )


def retry_later(
    *,
    session: Session,
    article_id: int,
    owner: str,
    now: datetime,
    at: datetime,
    reason: str,
    max_attempts: int,
) -> str:
    """After a transient error: pending again at ``at``, or failed after ``max_attempts``."""
    attempts = session.exec(
        select(Enrichment.attempts).where(Enrichment.article_id == article_id)
    ).first()
    if attempts is not None and attempts >= max_attempts:
        _finish(session, article_id, owner, now, state=FAILED, reason=reason)
        return FAILED
    _finish(session, article_id, owner, now, state=PENDING, next_attempt_at=at, reason=reason)
    return PENDING


def release(
    *,
    session: Session,
    article_id: int,
    owner: str,
    now: datetime,
    at: datetime | None = None,
    reason: str | None = None,
) -> None:
    """Give the article back for ``at`` (default now) without counting the attempt: the
    budget is spent, the server asked us to wait (429), the process stops."""
    values: dict[str, object] = {"reason": reason} if reason else {}
    _finish(
        session,
        article_id,
        owner,
        now,
        state=PENDING,
        next_attempt_at=at or now,
        attempts=_ENRICHMENT.c.attempts - 1,
        **values,
    )


def fail(*, session: Session, article_id: int, owner: str, now: datetime, reason: str) -> None:
    _finish(session, article_id, owner, now, state=FAILED, reason=reason)


def complete(
    *,
    session: Session,
    article_id: int,
    owner: str,
    now: datetime,
    source_hash: str,
    enriched: Enriched,
    model: str,
    prompt_version: str,
) -> bool:
    """Store the generated fields and mark the article done, if the worker still owns it and
    the source is still what the answer was made from (else it is queued again)."""
    current = _source_articles(session, [article_id]).get(article_id)
    if current is None:
        return False
    if current.source_hash != source_hash:
        # The source changed while the model wrote: that answer is stale, ask again.
        _finish(session, article_id, owner, now, state=PENDING, next_attempt_at=now, attempts=0)
        return False
    if not _finish(session, article_id, owner, now, state=DONE, reason=None):
        return False
    session.execute(delete(GeneratedField).where(col(GeneratedField.article_id) == article_id))
    rows = [
        GeneratedField(
            article_id=article_id,
            lang=text.lang,
            field=text.field,
            text=text.text,
            origin=text.origin,
            model=model,
            prompt_version=prompt_version,
            source_hash=source_hash,
            created_at=now,
        )
        for text in enriched.texts
    ]
    meta = {
        "scores": list(enriched.scores) if enriched.scores else None,
        "tags": list(enriched.tags) or None,
    }
    for name, value in meta.items():
        if value is not None:
            rows.append(
                GeneratedField(
                    article_id=article_id,
                    lang="",
                    field=name,
                    text=json.dumps(value),
                    origin=GENERATED,
                    model=model,
                    prompt_version=prompt_version,
                    source_hash=source_hash,
                    created_at=now,
                )
            )
    session.add_all(rows)
    article = session.get(Article, article_id)
    assert article is not None
    if enriched.scores is not None and article.scores_estimated:
        article.hot, article.quality, article.impact = enriched.scores
        article.scores_generated = True
        session.add(article)
    if not current.tags:
        session.execute(
            delete(ArticleTag).where(
                col(ArticleTag.article_id) == article_id, col(ArticleTag.generated).is_(True)
            )
        )
        ids = session.exec(select(Tag.id).where(col(Tag.slug).in_(enriched.tags))).all()
        session.add_all(
            ArticleTag(article_id=article_id, tag_id=tag_id, generated=True)
            for tag_id in ids
            if tag_id is not None
        )
    session.flush()
    return True


def queue_counts(*, session: Session) -> dict[str, int]:
    """Articles per queue state (every state present, zero when none)."""
    counts = dict.fromkeys(STATES, 0)
    for state, n in session.exec(
        select(Enrichment.state, func.count()).group_by(col(Enrichment.state))
    ):
        counts[state] = int(n)
    return counts
