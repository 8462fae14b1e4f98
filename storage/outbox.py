"""Outbox queries: digest runs and deliveries (one row per chat and local digest date).

Everything here is plain SQL on explicit sessions; callers own transactions. Planning itself
(one INSERT ... SELECT per group of chats) is in ``storage.planning``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import String, Table, bindparam, func, or_, select, text, update
from sqlmodel import Session

from storage.chats import deactivate_chats
from storage.db import conflict_insert
from storage.models import Chat, ChatTag, DeliveredArticle, Delivery, DigestRun
from storage.types import UTCDateTime

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
UNKNOWN = "unknown"
SKIPPED = "skipped"
STATES = (PENDING, SENDING, SENT, FAILED, UNKNOWN, SKIPPED)

SendingPolicy = Literal["unknown", "resend"]

_DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]
_RUN: Table = DigestRun.__table__  # type: ignore[attr-defined]
_CHAT: Table = Chat.__table__  # type: ignore[attr-defined]
_CHAT_TAG: Table = ChatTag.__table__  # type: ignore[attr-defined]
_DELIVERED: Table = DeliveredArticle.__table__  # type: ignore[attr-defined]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def begin_write(*, session: Session) -> None:
    """Start the session's transaction as a writer.

    SQLite: ``BEGIN IMMEDIATE`` takes the write lock up front, so two planners serialise on the
    busy timeout instead of both reading and then failing to upgrade to a write lock.
    PostgreSQL needs nothing: row locks (``SKIP LOCKED``) and the unique key do the work.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        raw = connection.connection.driver_connection
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


# --- planning ------------------------------------------------------------------------------


# The set-based planning statements themselves are in storage.planning; these serve schedule
# healing.


@dataclass(frozen=True, slots=True)
class DueChat:
    id: int
    timezone: str
    digest_time: str
    next_digest_at: datetime


def insert_deliveries(
    *, session: Session, rows: Sequence[dict[str, Any]]
) -> list[tuple[int, int, str]]:
    """Insert delivery rows, ignoring (chat, date) pairs that exist: (id, chat_id, state) added.

    ``rows`` need run_id, chat_id, local_date, due_at, state and optionally reason.
    """
    if not rows:
        return []
    statement = (
        conflict_insert(session, _DELIVERY)
        .on_conflict_do_nothing(index_elements=["chat_id", "local_date"])
        .returning(_DELIVERY.c.id, _DELIVERY.c.chat_id, _DELIVERY.c.state)
    )
    now = rows[0]["due_at"]
    params = [
        {
            "reason": None,
            "attempts": 0,
            "created_at": row.get("created_at", now),
            "updated_at": row.get("created_at", now),
            **row,
        }
        for row in rows
    ]
    result = session.execute(statement, params)
    return [(int(i), int(c), str(s)) for i, c, s in result.all()]


def advance_chats(*, session: Session, updates: Sequence[tuple[int, datetime, datetime]]) -> None:
    """Set ``next_digest_at`` for (chat_id, expected_current, new) — only if still expected.

    The condition makes a late second planner's update a no-op instead of moving a schedule
    the first one already moved (or the user changed meanwhile).
    """
    if not updates:
        return
    statement = (
        update(_CHAT)
        .where(_CHAT.c.id == bindparam("b_id"), _CHAT.c.next_digest_at == bindparam("b_old"))
        .values(next_digest_at=bindparam("b_new"))
    )
    session.execute(
        statement, [{"b_id": chat, "b_old": old, "b_new": new} for chat, old, new in updates]
    )


def far_future_chats(*, session: Session, beyond: datetime, limit: int) -> list[DueChat]:
    """Subscribed chats whose ``next_digest_at`` lies after ``beyond`` (a clock jumped back)."""
    statement = (
        select(_CHAT.c.id, _CHAT.c.timezone, _CHAT.c.digest_time, _CHAT.c.next_digest_at)
        .where(_CHAT.c.subscribed.is_(True), _CHAT.c.next_digest_at > beyond)
        .order_by(_CHAT.c.id)
        .limit(limit)
    )
    return [DueChat(*row) for row in session.execute(statement)]


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery marked ``sending``, with what building its digest needs."""

    id: int
    run_id: int | None
    chat_id: int
    chat_type: str
    local_date: str
    due_at: datetime
    language: str | None
    timezone: str
    article_count: int
    tag_ids: tuple[int, ...] = field(default_factory=tuple)
    thread_id: int | None = None  # forum topic of the subscription


# Statements built once: a broadcast claims and records thousands of small batches, and building
# the expression objects anew each time cost more than running them. Lists go in expanding
# bind parameters.
_CLAIM_SELECT = (
    select(
        _DELIVERY.c.id,
        _DELIVERY.c.run_id,
        _DELIVERY.c.chat_id,
        _DELIVERY.c.local_date,
        _DELIVERY.c.due_at,
        _CHAT.c.type,
        _CHAT.c.language,
        _CHAT.c.timezone,
        _CHAT.c.article_count,
        _CHAT.c.active,
        _CHAT.c.subscribed,
        _CHAT.c.message_thread_id,
    )
    .select_from(_DELIVERY.outerjoin(_CHAT, _CHAT.c.id == _DELIVERY.c.chat_id))
    .where(
        _DELIVERY.c.state == PENDING,
        _DELIVERY.c.due_at <= bindparam("now", type_=UTCDateTime()),
        or_(
            _DELIVERY.c.lease_until.is_(None),
            _DELIVERY.c.lease_until < bindparam("now", type_=UTCDateTime()),
        ),
    )
    .order_by(_DELIVERY.c.due_at, _DELIVERY.c.id)
    .limit(bindparam("limit"))
)
# A second sender skips rows the first one is claiming instead of waiting (PostgreSQL).
_CLAIM_SELECT_LOCKED = _CLAIM_SELECT.with_for_update(of=_DELIVERY, skip_locked=True)
_CLAIM_SKIP = (
    update(_DELIVERY)
    .where(_DELIVERY.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        state=SKIPPED,
        reason="chat inactive or unsubscribed",
        updated_at=bindparam("now", type_=UTCDateTime()),
        owner=None,
        lease_until=None,
    )
)
_CLAIM_LEASE = (
    update(_DELIVERY)
    .where(_DELIVERY.c.id.in_(bindparam("ids", expanding=True)), _DELIVERY.c.state == PENDING)
    .values(
        owner=bindparam("b_owner"),
        lease_until=bindparam("b_until", type_=UTCDateTime()),
        updated_at=bindparam("now", type_=UTCDateTime()),
    )
)
_CHAT_TAGS = (
    select(_CHAT_TAG.c.chat_id, _CHAT_TAG.c.tag_id)
    .where(_CHAT_TAG.c.chat_id.in_(bindparam("chats", expanding=True)))
    .order_by(_CHAT_TAG.c.chat_id, _CHAT_TAG.c.tag_id)
)
_DELIVERED_PAIRS = select(_DELIVERED.c.chat_id, _DELIVERED.c.article_id).where(
    _DELIVERED.c.chat_id.in_(bindparam("chats", expanding=True)),
    _DELIVERED.c.article_id.in_(bindparam("articles", expanding=True)),
)


def claim_pending(
    *, session: Session, now: datetime, limit: int, owner: str, until: datetime
) -> list[ClaimedDelivery]:
    """Lease up to ``limit`` due pending rows to ``owner`` (until ``until``) and return them.

    The rows stay ``pending``: nothing has left yet, so if the owner dies they are simply
    picked up again once the lease expires. ``mark_sending`` flips each row just before its
    request goes out. Rows whose chat is gone, inactive or unsubscribed are skipped on the way.
    """
    statement = _CLAIM_SELECT_LOCKED if _dialect(session) == "postgresql" else _CLAIM_SELECT
    rows = session.execute(statement, {"now": now, "limit": limit}).all()
    if not rows:
        return []
    claimable = [r for r in rows if r.type is not None and r.active and r.subscribed]
    dropped = [r for r in rows if not (r.type is not None and r.active and r.subscribed)]
    if dropped:
        session.execute(_CLAIM_SKIP, {"ids": [r.id for r in dropped], "now": now})
    if not claimable:
        return []
    session.execute(
        _CLAIM_LEASE,
        {"ids": [r.id for r in claimable], "now": now, "b_owner": owner, "b_until": until},
    )
    tags: dict[int, list[int]] = defaultdict(list)
    chat_ids = [r.chat_id for r in claimable]
    for chat_id, tag_id in session.execute(_CHAT_TAGS, {"chats": chat_ids}):
        tags[int(chat_id)].append(int(tag_id))
    return [
        ClaimedDelivery(
            id=int(r.id),
            run_id=r.run_id,
            chat_id=int(r.chat_id),
            chat_type=str(r.type),
            local_date=str(r.local_date),
            due_at=r.due_at,
            language=r.language,
            timezone=str(r.timezone),
            article_count=int(r.article_count),
            tag_ids=tuple(tags.get(int(r.chat_id), ())),
            thread_id=r.message_thread_id,
        )
        for r in claimable
    ]


def delivered_pairs(
    *, session: Session, chat_ids: Iterable[int], article_ids: Iterable[int]
) -> set[tuple[int, int]]:
    """Which (chat, article) of these were delivered before (one query for a whole batch)."""
    chats, articles = sorted(set(chat_ids)), sorted(set(article_ids))
    if not chats or not articles:
        return set()
    rows = session.execute(_DELIVERED_PAIRS, {"chats": chats, "articles": articles})
    return {(int(c), int(a)) for c, a in rows}


@dataclass(slots=True)
class Outcome:
    """What happened to one claimed delivery; applied in batches by ``record_outcomes``."""

    delivery_id: int
    chat_id: int
    state: str  # sent, failed, unknown, skipped, or pending (give back, e.g. on shutdown)
    reason: str | None = None
    message_ids: list[int] | None = None
    article_ids: list[int] | None = None
    deactivate_chat: bool = False
    run_id: int | None = None


_RECORD_OUTCOME = (
    update(_DELIVERY)
    .where(_DELIVERY.c.id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"),
        reason=bindparam("b_reason"),
        message_ids=bindparam("b_messages"),
        article_ids=bindparam("b_articles"),
        sent_at=bindparam("b_sent_at"),
        updated_at=bindparam("b_now"),
        owner=None,
        lease_until=None,
    )
)


def record_outcomes(*, session: Session, outcomes: Sequence[Outcome], now: datetime) -> None:
    """Apply outcomes: delivery states, delivered articles, deactivated chats, run times."""
    if not outcomes:
        return
    session.execute(
        _RECORD_OUTCOME,
        [
            {
                "b_id": o.delivery_id,
                "b_state": o.state,
                "b_reason": o.reason,
                "b_messages": o.message_ids,
                "b_articles": o.article_ids,
                "b_sent_at": now if o.state == SENT else None,
                "b_now": now,
            }
            for o in outcomes
        ],
    )
    pairs = [
        (o.chat_id, a) for o in outcomes if o.state == SENT and o.article_ids for a in o.article_ids
    ]
    if pairs:
        insert_delivered(session=session, pairs=pairs, now=now)
    dead = sorted({o.chat_id for o in outcomes if o.deactivate_chat})
    if dead:
        deactivate_chats(session=session, chat_ids=dead, now=now)
    runs = sorted({o.run_id for o in outcomes if o.state == SENT and o.run_id is not None})
    if runs:
        session.execute(_RUNS_SENT, {"runs": runs, "now": now})


_RUNS_SENT = (
    update(_RUN)
    .where(_RUN.c.id.in_(bindparam("runs", expanding=True)))
    .values(
        first_sent_at=func.coalesce(_RUN.c.first_sent_at, bindparam("now", type_=UTCDateTime())),
        last_sent_at=bindparam("now", type_=UTCDateTime()),
    )
)


# One statement and two parameters for a whole batch of (chat, article) pairs, passed as a JSON
# array: an executemany would convert and bind three values per pair (five pairs a message).
_INSERT_DELIVERED = {
    dialect: text(sql).bindparams(
        bindparam("now", type_=UTCDateTime()), bindparam("pairs", type_=String())
    )
    for dialect, sql in {
        "sqlite": "INSERT OR IGNORE INTO delivered_article (chat_id, article_id, delivered_at) "
        "SELECT json_extract(p.value, '$[0]'), json_extract(p.value, '$[1]'), :now "
        "FROM json_each(:pairs) AS p",
        "postgresql": "INSERT INTO delivered_article (chat_id, article_id, delivered_at) "
        "SELECT CAST(p.value ->> 0 AS BIGINT), CAST(p.value ->> 1 AS INTEGER), :now "
        "FROM json_array_elements(CAST(:pairs AS JSON)) AS p ON CONFLICT DO NOTHING",
    }.items()
}


def insert_delivered(*, session: Session, pairs: Sequence[tuple[int, int]], now: datetime) -> None:
    """Record (chat_id, article_id) pairs as delivered at ``now``; pairs already there stay."""
    if not pairs:
        return
    statement = _INSERT_DELIVERED["postgresql" if _dialect(session) == "postgresql" else "sqlite"]
    session.execute(
        statement, {"now": now, "pairs": json.dumps([[int(c), int(a)] for c, a in pairs])}
    )


def move_deliveries(*, session: Session, old_chat_id: int, new_chat_id: int) -> None:
    """A migrated group: its outbox rows follow it to the new id (unless already there)."""
    taken = select(_DELIVERY.c.local_date).where(_DELIVERY.c.chat_id == new_chat_id)
    session.execute(
        update(_DELIVERY)
        .where(_DELIVERY.c.chat_id == old_chat_id, _DELIVERY.c.local_date.not_in(taken))
        .values(chat_id=new_chat_id)
    )


def count_chat_deliveries(*, session: Session, chat_id: int) -> int:
    """Outbox rows of one chat, whatever their state."""
    found = session.scalar(
        select(func.count()).select_from(_DELIVERY).where(_DELIVERY.c.chat_id == chat_id)
    )
    return int(found or 0)
