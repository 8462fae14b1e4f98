"""Set-based planning gives exactly the rows the per-chat planner gave, on both backends."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.delivery.planner import _slots, plan_once
from bot.digest_time import get_zone
from storage import planning
from storage.models import Chat, Delivery, DigestRun

NOW = datetime(2026, 3, 29, 6, 0, 10, tzinfo=UTC)  # the morning Europe switches to summer time
GRACE = timedelta(hours=6)
AHEAD = timedelta(seconds=60)
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Shanghai", "UTC+05:30", "Mars/Base"]
TIMES = ["02:30", "07:00", "08:00", "21:00"]
DUES = [
    timedelta(minutes=-1),
    timedelta(hours=-7),  # beyond the grace: skipped
    timedelta(days=-5),  # a long outage: one skipped row for the old day, today's if in grace
    timedelta(seconds=30),  # inside the look-ahead: planned now, sent at its time
    timedelta(minutes=10),  # beyond it: not yet
]


def _chats() -> list[dict[str, object]]:
    rows = []
    for i, (tz, hhmm, due, flags) in enumerate(
        itertools.product(ZONES, TIMES, DUES, [(True, True), (True, False), (False, True)])
    ):
        for copy in range(3):
            rows.append(
                {
                    "id": 1000 + i * 3 + copy,
                    "type": "private",
                    "timezone": tz,
                    "digest_time": hhmm,
                    "subscribed": flags[0],
                    "active": flags[1],
                    "next_digest_at": NOW + due,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
    return rows


def _reference(chats: list[dict[str, object]]) -> tuple[set[tuple[object, ...]], dict[int, object]]:
    """The per-chat planner's rows and next due times, computed chat by chat."""
    rows: set[tuple[object, ...]] = set()
    moves: dict[int, object] = {}
    for chat in chats:
        due = chat["next_digest_at"]
        assert isinstance(due, datetime)
        if not (chat["subscribed"] and chat["active"]) or due > NOW + AHEAD:
            moves[int(str(chat["id"]))] = due
            continue
        tz = str(chat["timezone"])
        try:
            get_zone(tz)
        except KeyError:
            tz = "UTC"
        zone = get_zone(tz)
        latest, following, missed = _slots(str(chat["digest_time"]), tz, due, NOW)
        day = latest.astimezone(zone).date().isoformat()
        old_day = due.astimezone(zone).date().isoformat()
        wanted = [(old_day, due)] if missed and old_day != day else []
        wanted.append((day, latest))
        for local_date, at in wanted:
            state = "skipped" if NOW - at > GRACE else "pending"
            rows.add((chat["id"], local_date, at, state))
        moves[int(str(chat["id"]))] = following
    return rows, moves


def test_set_based_planning_matches_the_per_chat_planner(any_engine: Engine) -> None:
    chats = _chats()
    with Session(any_engine) as session:
        session.execute(insert(Chat), chats)
        session.commit()
    expected_rows, expected_next = _reference(chats)

    result = plan_once(engine=any_engine, now=NOW, grace=GRACE, ahead=AHEAD, batch_size=50)

    with Session(any_engine) as session:
        got = session.execute(
            select(Delivery.chat_id, Delivery.local_date, Delivery.due_at, Delivery.state)
        ).all()
        got_next = dict(session.execute(select(Chat.id, Chat.next_digest_at)).all())
        runs = session.scalars(select(DigestRun)).all()
        reasons = session.scalars(select(Delivery.reason).where(Delivery.state == "skipped"))
        assert all(r is not None and "grace" in r for r in reasons)
    assert {tuple(r) for r in got} == expected_rows
    assert len(got) == len(expected_rows)
    assert got_next == expected_next
    pending = sum(1 for r in expected_rows if r[3] == "pending")
    assert (result.planned, result.skipped) == (pending, len(expected_rows) - pending)
    assert [(r.planned, r.skipped) for r in runs] == [(result.planned, result.skipped)]
    assert result.chats == sum(
        1 for c in chats if expected_next[int(str(c["id"]))] != c["next_digest_at"]
    )


def test_existing_rows_stay_and_the_chat_still_moves(any_engine: Engine) -> None:
    due = datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    with Session(any_engine) as session:
        session.add(
            Chat(id=1, type="private", digest_time="06:00", subscribed=True, next_digest_at=due)
        )
        session.add(
            Chat(id=2, type="private", digest_time="06:00", subscribed=True, next_digest_at=due)
        )
        session.add(
            Delivery(chat_id=1, local_date=due.date().isoformat(), due_at=due, state="sent")
        )
        session.commit()
    result = plan_once(engine=any_engine, now=NOW, grace=GRACE)
    assert (result.planned, result.chats) == (1, 2)
    with Session(any_engine) as session:
        states = dict(session.execute(select(Delivery.chat_id, Delivery.state)).all())
        assert states == {1: "sent", 2: "pending"}
        moved = session.scalars(select(Chat.next_digest_at)).all()
        assert moved == [due + timedelta(days=1)] * 2


def test_rows_planned_ahead_are_dropped_when_the_schedule_changes(any_engine: Engine) -> None:
    due = NOW + timedelta(seconds=20)
    with Session(any_engine) as session:
        session.add(Chat(id=1, type="private", subscribed=True, next_digest_at=due))
        session.commit()
    plan_once(engine=any_engine, now=NOW, grace=GRACE, ahead=AHEAD)
    with Session(any_engine) as session:
        assert planning.next_pending_due(session=session, after=NOW) == due
        assert planning.drop_future_rows(session=session, chat_id=1, after=NOW) == 1
        session.commit()
        assert planning.next_pending_due(session=session, after=NOW) is None
        assert session.scalars(select(Delivery)).all() == []


def test_planner_lag_per_run(any_engine: Engine) -> None:
    due = datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    with Session(any_engine) as session:
        run = DigestRun(started_at=due)
        session.add(run)
        session.flush()
        assert run.id is not None
        for chat_id, late in ((1, 0.4), (2, 1.5), (3, 30.0), (4, None), (5, 0.05)):
            session.add(
                Delivery(
                    run_id=run.id,
                    chat_id=chat_id,
                    local_date="2026-03-29",
                    due_at=due,
                    state="sent" if late is not None else "pending",
                    sent_at=due + timedelta(seconds=late) if late is not None else None,
                )
            )
        session.commit()
        lags = planning.planner_lag(session=session, run_ids=[run.id, run.id + 1])
    [(run_id, lag)] = lags.items()
    assert run_id == run.id and lag.sent == 4
    # Exact on both backends (microseconds counted in integers), so reports printed from a
    # SQLite database and its PostgreSQL copy agree even at rounding boundaries like 0.05 s.
    assert lag.first_s == 0.05
    assert lag.avg_s == pytest.approx(31.95 / 4, abs=1e-9)
    assert lag.max_s == 30.0


def test_sqlite_plans_each_group_with_one_index_search(engine: Engine) -> None:
    """Every group of a range is one search of ix_chat_due (flags, due, zone, time and the
    rowid range), in the INSERT and in the UPDATE: never a scan of the chat table, whose cost
    would grow with every chat rather than with the due ones."""
    chats = _chats()
    with Session(engine) as session:
        session.execute(insert(Chat), chats)
        session.commit()
    seen: list[tuple[str, object]] = []

    def capture(_c: object, _cur: object, statement: str, params: object, *_a: object) -> None:
        if statement.startswith("WITH g AS"):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        plan_once(engine=engine, now=NOW, grace=GRACE, ahead=AHEAD, batch_size=50)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    kinds = {"INSERT" if "INSERT INTO delivery" in s else "UPDATE" for s, _ in seen}
    assert kinds == {"INSERT", "UPDATE"} and len(seen) > 2  # several ranges of 50 chats
    with engine.connect() as connection:
        for statement, params in seen:
            plan = " | ".join(
                str(row[3])
                for row in connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement,
                    params,  # type: ignore[arg-type]
                )
            )
            assert "SEARCH c USING" in plan and "ix_chat_due" in plan, plan
            assert "rowid>? AND rowid<?" in plan, plan
            assert "SCAN c" not in plan, plan


def test_owner_and_adder_indexes_hold_only_set_keys(any_engine: Engine) -> None:
    """Planned rows are unowned and most chats have no adder: migration 0009 keeps those
    NULL keys out of ix_delivery_owner and ix_chat_added_by (one index write less per planned
    row, and per advanced chat on PostgreSQL)."""
    if any_engine.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE name IN (:a, :b)"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN (:a, :b)"
    with Session(any_engine) as session:
        found = dict(
            session.execute(text(query), {"a": "ix_delivery_owner", "b": "ix_chat_added_by"}).all()
        )
    assert "owner IS NOT NULL" in found["ix_delivery_owner"].replace("(owner", "owner")
    assert "added_by IS NOT NULL" in found["ix_chat_added_by"].replace("(added_by", "added_by")
