"""Set-based digest planning: the database fans each due group's rows out over its chats.

Chats that share a time zone, a digest time and a ``next_digest_at`` (a *group*: in practice a
few hundred groups however many chats) get identical delivery rows, so the planner works out a
group's rows once in Python (DST arithmetic) and the database fans them out over the group's
chats, instead of binding and converting a row of parameters per chat.

* PostgreSQL: one statement per group; its rows (normally one; two when older occurrences were
  missed) go in as arrays (``unnest``).
* SQLite: one ``INSERT ... SELECT`` and one ``UPDATE`` per transaction for every group at once
  (a JSON array of groups, ``json_each``), over one range of the chat table
  (``row_ranges``): a SQLite transaction writes out every page it touched, and a group's chats
  are spread over the whole table.
Callers own the transaction.

Two planners at once:
* PostgreSQL: one statement whose CTE locks the group's chats ``FOR UPDATE SKIP LOCKED`` and
  both inserts their rows and advances exactly those chats, so a second planner skips chats the
  first is working on and a chat changed in between is never advanced without its row;
* SQLite: the caller holds the write lock (``outbox.begin_write``), so the INSERT and the
  UPDATE see the same chats.
The unique key (chat, local date) with ``ON CONFLICT DO NOTHING`` still guards every row.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Table, bindparam, cast, delete, func, select, text
from sqlalchemy.types import String
from sqlmodel import Session

from storage.models import Chat, Delivery
from storage.types import UTCDateTime

_CHAT: Table = Chat.__table__  # type: ignore[attr-defined]
_DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]

PENDING = "pending"


@dataclass(frozen=True, slots=True)
class DueGroup:
    """Subscribed, active chats due at the same instant with the same zone and time."""

    timezone: str
    digest_time: str
    next_digest_at: datetime
    chats: int


@dataclass(frozen=True, slots=True)
class SlotRow:
    """One delivery row every chat of a group gets."""

    local_date: str
    due_at: datetime
    state: str
    reason: str | None = None


def due_groups(*, session: Session, until: datetime) -> list[DueGroup]:
    """Groups of subscribed, active chats with ``next_digest_at <= until``, earliest first."""
    statement = (
        select(
            _CHAT.c.timezone,
            _CHAT.c.digest_time,
            _CHAT.c.next_digest_at,
            func.count().label("n"),
        )
        .where(
            _CHAT.c.subscribed.is_(True),
            _CHAT.c.active.is_(True),
            _CHAT.c.next_digest_at <= until,
        )
        .group_by(_CHAT.c.timezone, _CHAT.c.digest_time, _CHAT.c.next_digest_at)
        .order_by(_CHAT.c.next_digest_at, _CHAT.c.timezone, _CHAT.c.digest_time)
    )
    return [
        DueGroup(str(tz), str(hhmm), due, int(n)) for tz, hhmm, due, n in session.execute(statement)
    ]


_GROUP_WHERE = (
    "c.subscribed AND c.active AND c.timezone = :tz AND c.digest_time = :hhmm "
    "AND c.next_digest_at = :due"
)
_COLUMNS = "run_id, chat_id, local_date, due_at, state, reason, attempts, created_at, updated_at"


@dataclass(frozen=True, slots=True)
class RowRange:
    """SQLite chats with ``low <= rowid <= high`` (the table's own order: its pages)."""

    low: int
    high: int


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """What every chat of a group gets: its rows, and its next due time."""

    group: DueGroup
    rows: Sequence[SlotRow]
    following: datetime


_SQLITE_ALL = RowRange(-(2**63), 2**63 - 1)
# Every ``size``-th due chat in table order starts a range (but the first).
_SQLITE_RANGE_STARTS = text(
    "SELECT r FROM (SELECT c.rowid AS r, row_number() OVER (ORDER BY c.rowid) AS n "
    "FROM chat AS c WHERE c.subscribed = 1 AND c.active = 1 AND c.next_digest_at <= :until) "
    "WHERE n % :size = 1 AND n > 1 ORDER BY r"
).bindparams(bindparam("until", type_=UTCDateTime()))


def row_ranges(*, session: Session, until: datetime, size: int, due: int) -> list[RowRange] | None:
    """SQLite: ranges of the table holding about ``size`` of the ``due`` chats each, one
    transaction each; PostgreSQL: None (transactions by group).

    A SQLite transaction writes out every page it touched, and a group's chats are spread
    over the whole table, so a transaction per group rewrote every ``chat`` page once per
    group (8 times at 100,000 chats in the benchmark); a range of the table touches each page
    once, and bounds how long the write lock is held. PostgreSQL logs rows, not pages.
    """
    if session.get_bind().dialect.name != "sqlite":
        return None
    if due <= size:
        # One range: no need to number the due chats (a sort of all of them).
        return [_SQLITE_ALL]
    starts = [int(r) for r in session.scalars(_SQLITE_RANGE_STARTS, {"until": until, "size": size})]
    lows = [_SQLITE_ALL.low, *starts]
    highs = [*(low - 1 for low in starts), _SQLITE_ALL.high]
    return [RowRange(low, high) for low, high in zip(lows, highs, strict=True)]


# PostgreSQL: lock the group's chats (skipping those another planner holds), insert their rows
# and advance the same chats, in one statement. The update takes the locked ids as an array:
# always chat_pkey probes, where a join may hash the whole chat table once the statistics know
# the group is large (found with EXPLAIN). Not ctid: a chat changed just before our lock is
# locked in a version this statement's snapshot does not see; by id the update follows it.
_PG_PLAN = text(
    "WITH c AS (SELECT c.id FROM chat AS c WHERE "
    + _GROUP_WHERE
    + " ORDER BY c.id FOR UPDATE SKIP LOCKED), "
    "ins AS (INSERT INTO delivery (" + _COLUMNS + ") "
    "SELECT :run_id, c.id, r.local_date, r.due_at, r.state, r.reason, 0, :now, :now "
    "FROM c CROSS JOIN unnest(CAST(:dates AS VARCHAR[]), CAST(:dues AS TIMESTAMPTZ[]), "
    "CAST(:states AS VARCHAR[]), CAST(:reasons AS TEXT[])) AS r(local_date, due_at, state, reason) "
    "ORDER BY c.id, r.local_date "
    "ON CONFLICT (chat_id, local_date) DO NOTHING RETURNING state), "
    "upd AS (UPDATE chat SET next_digest_at = :following "
    "WHERE chat.id = ANY(ARRAY(SELECT c.id FROM c)) "
    "RETURNING 1) "
    "SELECT 's:' || state, count(*) FROM ins GROUP BY state "
    "UNION ALL SELECT 'chats', count(*) FROM upd"
).bindparams(
    bindparam("due", type_=UTCDateTime()),
    bindparam("now", type_=UTCDateTime()),
    bindparam("following", type_=UTCDateTime()),
)

# SQLite: every group of the transaction in one statement. The groups come as a JSON array of
# [timezone, digest_time, next_digest_at, following, [[local_date, due_at, state, reason]...], 1]
# (times as stored), unpacked once per group (MATERIALIZED). The flags come from the groups
# too and the groups are read first, so each group is one search of ix_chat_due (flags, due,
# zone, time, rowid range), never a scan of the chats (tests/storage/test_planning.py checks
# the plan).
_SQLITE_GROUPS = (
    "WITH g AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS tz, "
    "json_extract(value, '$[1]') AS hhmm, json_extract(value, '$[2]') AS due, "
    "json_extract(value, '$[3]') AS following, json_extract(value, '$[4]') AS slots, "
    "json_extract(value, '$[5]') AS flag FROM json_each(:groups)) "
)
_SQLITE_MATCH = (
    "c.subscribed = g.flag AND c.active = g.flag AND c.next_digest_at = g.due "
    "AND c.timezone = g.tz AND c.digest_time = g.hhmm AND c.rowid BETWEEN :low AND :high"
)
_SQLITE_INSERT = (
    _SQLITE_GROUPS + "INSERT INTO delivery (" + _COLUMNS + ") "
    "SELECT :run_id, c.id, json_extract(r.value, '$[0]'), json_extract(r.value, '$[1]'), "
    "json_extract(r.value, '$[2]'), json_extract(r.value, '$[3]'), 0, :now, :now "
    "FROM g CROSS JOIN chat AS c ON " + _SQLITE_MATCH + " JOIN json_each(g.slots) AS r "
    # WHERE true: an upsert's INSERT ... SELECT parses ambiguously without a WHERE.
    "WHERE true ORDER BY c.id, r.key ON CONFLICT (chat_id, local_date) DO NOTHING"
)
_SQLITE_INSERT_COUNTED = text(_SQLITE_INSERT + " RETURNING state").bindparams(
    bindparam("now", type_=UTCDateTime()),
    bindparam("groups", type_=String()),
)
_SQLITE_INSERT_PLAIN = text(_SQLITE_INSERT).bindparams(
    bindparam("now", type_=UTCDateTime()),
    bindparam("groups", type_=String()),
)
_SQLITE_ADVANCE = text(
    _SQLITE_GROUPS
    + "UPDATE chat AS c SET next_digest_at = g.following FROM g WHERE "
    + _SQLITE_MATCH
).bindparams(bindparam("groups", type_=String()))


@dataclass(slots=True)
class GroupResult:
    chats: int = 0  # chats advanced
    states: Counter[str] = field(default_factory=Counter)  # rows inserted, by state


def plan_groups(
    *,
    session: Session,
    plans: Sequence[GroupPlan],
    rows: RowRange | None,
    run_id: int | None,
    now: datetime,
) -> GroupResult:
    """Give every chat of these groups its group's rows (existing (chat, date) pairs stay) and
    move its ``next_digest_at`` to the group's ``following``; on SQLite only the chats in
    ``rows`` (None: all)."""
    done = GroupResult()
    if not plans:
        return done
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        for plan in plans:
            slots = plan.rows
            params: dict[str, object] = {
                "tz": plan.group.timezone,
                "hhmm": plan.group.digest_time,
                "due": plan.group.next_digest_at,
                "run_id": run_id,
                "now": now,
                "following": plan.following,
                "dates": [r.local_date for r in slots],
                "dues": [r.due_at for r in slots],
                "states": [r.state for r in slots],
                "reasons": [r.reason for r in slots],
            }
            for key, n in session.execute(_PG_PLAN, params):
                if key == "chats":
                    done.chats += int(n)
                else:
                    done.states[str(key)[2:]] += int(n)
        return done
    # SQLite stores UTCDateTime as naive UTC text in SQLAlchemy's format: write the same text.
    to_text = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert to_text is not None
    groups = json.dumps(
        [
            [
                p.group.timezone,
                p.group.digest_time,
                to_text(p.group.next_digest_at),
                to_text(p.following),
                [[r.local_date, to_text(r.due_at), r.state, r.reason] for r in p.rows],
                1,  # subscribed, active
            ]
            for p in plans
        ]
    )
    bounds = rows or _SQLITE_ALL
    params = {
        "groups": groups,
        "low": bounds.low,
        "high": bounds.high,
        "run_id": run_id,
        "now": now,
    }
    states = {r.state for p in plans for r in p.rows}
    if len(states) == 1:
        # Every inserted row has the one state: the row count says it all.
        session.execute(_SQLITE_INSERT_PLAIN, params)
        done.states[states.pop()] += _changes(session)
    else:
        for (state,) in session.execute(_SQLITE_INSERT_COUNTED, params):
            done.states[str(state)] += 1
    session.execute(_SQLITE_ADVANCE, params)
    done.chats = _changes(session)
    return done


def _changes(session: Session) -> int:
    """Rows the last SQLite statement changed (the driver reports no rowcount for a statement
    that starts with WITH)."""
    return int(session.execute(text("SELECT changes()")).scalar_one())


def drop_future_rows(*, session: Session, chat_id: int, after: datetime) -> int:
    """Delete a chat's pending rows due after ``after`` (planned ahead, then its schedule
    changed): the planner plans the new schedule."""
    result = session.execute(
        delete(_DELIVERY).where(
            _DELIVERY.c.chat_id == chat_id,
            _DELIVERY.c.state == PENDING,
            _DELIVERY.c.due_at > after,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def next_pending_due(*, session: Session, after: datetime) -> datetime | None:
    """The earliest ``due_at`` of a pending row still in the future (when to wake the sender)."""
    statement = select(func.min(_DELIVERY.c.due_at)).where(
        _DELIVERY.c.state == PENDING, _DELIVERY.c.due_at > after
    )
    found: datetime | None = session.execute(statement).scalar_one()
    return found


@dataclass(frozen=True, slots=True)
class Lag:
    """Planner lag of a run's sent rows: send time minus due time, in seconds."""

    sent: int
    first_s: float  # the row sent closest to its time: how late the first digests were
    avg_s: float
    max_s: float


def planner_lag(*, session: Session, run_ids: Sequence[int]) -> dict[int, Lag]:
    """Lag of the sent rows of these runs (``sent_at`` is when the outcome was recorded, at
    most one flush interval after Telegram's answer)."""
    if not run_ids:
        return {}
    seconds: ColumnElement[Any]
    if session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", _DELIVERY.c.sent_at - _DELIVERY.c.due_at)
    else:
        # Whole seconds and microseconds apart, in integers: julianday's floating-point days
        # are off by tens of microseconds, so a lag of exactly 0.05 s would print as 0.0 here
        # and 0.1 on PostgreSQL. SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff" (naive UTC).
        def whole(column: ColumnElement[Any]) -> ColumnElement[Any]:
            return cast(func.strftime("%s", column), Integer)

        def micro(column: ColumnElement[Any]) -> ColumnElement[Any]:
            return cast(func.substr(column, 21, 6), Integer)

        sent, due = _DELIVERY.c.sent_at, _DELIVERY.c.due_at
        seconds = (whole(sent) - whole(due)) + (micro(sent) - micro(due)) / 1_000_000.0
    statement = (
        select(
            _DELIVERY.c.run_id,
            func.count(),
            func.min(seconds),
            func.avg(seconds),
            func.max(seconds),
        )
        .where(_DELIVERY.c.run_id.in_(list(run_ids)), _DELIVERY.c.sent_at.is_not(None))
        .group_by(_DELIVERY.c.run_id)
    )
    return {
        int(run): Lag(int(n), float(lo), float(avg), float(hi))
        for run, n, lo, avg, hi in session.execute(statement)
    }
