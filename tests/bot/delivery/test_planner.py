from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.delivery.planner import heal_schedules, plan_once
from bot.digest_time import next_occurrence
from storage.db import make_engine
from storage.models import Chat, Delivery, DigestRun

GRACE = timedelta(hours=6)


def add_chats(
    engine: Engine,
    n: int,
    *,
    tz: str = "Europe/Berlin",
    hhmm: str = "08:00",
    due: datetime,
    start_id: int = 1,
    **extra: object,
) -> list[int]:
    ids = list(range(start_id, start_id + n))
    with Session(engine) as session:
        for chat_id in ids:
            session.add(
                Chat(
                    **{
                        "id": chat_id,
                        "type": "private",
                        "timezone": tz,
                        "digest_time": hhmm,
                        "subscribed": True,
                        "next_digest_at": due,
                        **extra,
                    }
                )
            )
        session.commit()
    return ids


def deliveries(engine: Engine) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def chat(engine: Engine, chat_id: int) -> Chat:
    with Session(engine) as session:
        found = session.get(Chat, chat_id)
        assert found is not None
        return found


def test_due_chat_gets_one_row_and_moves_to_next_local_occurrence(engine: Engine) -> None:
    due = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)  # 08:00 CEST
    add_chats(engine, 1, due=due)
    add_chats(engine, 1, due=due, start_id=2, subscribed=False)
    add_chats(engine, 1, due=due, start_id=3, active=False)
    add_chats(engine, 1, due=due + timedelta(minutes=5), start_id=4)  # not due yet

    result = plan_once(engine=engine, now=due + timedelta(seconds=20), grace=GRACE)

    assert (result.planned, result.skipped, result.chats) == (1, 0, 1)
    [row] = deliveries(engine)
    assert (row.chat_id, row.local_date, row.state, row.due_at) == (1, "2026-06-15", "pending", due)
    assert chat(engine, 1).next_digest_at == datetime(2026, 6, 16, 6, 0, tzinfo=UTC)
    assert chat(engine, 4).next_digest_at == due + timedelta(minutes=5)
    # Planning again at once finds nothing due: no second row, no empty run.
    again = plan_once(engine=engine, now=due + timedelta(seconds=50), grace=GRACE)
    assert (again.planned, again.run_id) == (0, None)
    with Session(engine) as session:
        run = session.get(DigestRun, result.run_id)
        assert run is not None and run.planned == 1
        assert session.scalar(select(func.count()).select_from(DigestRun)) == 1


def _simulate_days(engine: Engine, tz: str, hhmm: str, start: datetime, days: int) -> None:
    first = next_occurrence(hhmm, tz, start)
    add_chats(engine, 1, tz=tz, hhmm=hhmm, due=first)
    for _ in range(days):
        due = chat(engine, 1).next_digest_at
        assert due is not None
        # The planner ticks every 30 s: its "now" is a few seconds after the due time.
        plan_once(engine=engine, now=due + timedelta(seconds=7), grace=GRACE)


def test_planner_over_berlin_spring_and_autumn_switches(engine: Engine) -> None:
    _simulate_days(engine, "Europe/Berlin", "08:00", datetime(2026, 3, 25, tzinfo=UTC), 40)
    rows = deliveries(engine)
    zone = ZoneInfo("Europe/Berlin")
    assert len(rows) == 40
    assert all(r.due_at.astimezone(zone).strftime("%H:%M") == "08:00" for r in rows)
    dates = [date.fromisoformat(r.local_date) for r in rows]
    assert dates == [date(2026, 3, 25) + timedelta(days=i) for i in range(40)]


def test_planner_sends_nonexistent_time_once(engine: Engine) -> None:
    _simulate_days(engine, "Europe/Berlin", "02:30", datetime(2026, 3, 27, tzinfo=UTC), 4)
    rows = deliveries(engine)
    assert [r.local_date for r in rows] == ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30"]
    gap_day = rows[2]
    assert gap_day.due_at == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST


def test_planner_sends_repeated_time_once_in_new_york(engine: Engine) -> None:
    _simulate_days(engine, "America/New_York", "01:30", datetime(2026, 10, 30, tzinfo=UTC), 4)
    rows = deliveries(engine)
    assert [r.local_date for r in rows] == ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"]
    assert rows[2].due_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # first 01:30 (EDT)


def test_catch_up_within_grace_is_pending_beyond_is_skipped(engine: Engine) -> None:
    due = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)
    add_chats(engine, 1, due=due)
    add_chats(engine, 1, due=due - timedelta(hours=7), start_id=2, hhmm="01:00")
    plan_once(engine=engine, now=due + timedelta(hours=5, minutes=59), grace=GRACE)
    by_chat = {r.chat_id: r for r in deliveries(engine)}
    assert by_chat[1].state == "pending"
    assert by_chat[2].state == "skipped"
    assert by_chat[2].reason is not None and "grace" in by_chat[2].reason
    # Both advanced to their next local occurrence after now.
    assert chat(engine, 1).next_digest_at == due + timedelta(days=1)
    assert chat(engine, 2).next_digest_at == due - timedelta(hours=7) + timedelta(days=1)


def test_long_outage_sends_latest_missed_digest_if_within_grace(engine: Engine) -> None:
    due = datetime(2026, 6, 10, 6, 0, tzinfo=UTC)  # five days before "now"
    add_chats(engine, 1, due=due)
    now = datetime(2026, 6, 15, 7, 0, tzinfo=UTC)  # one hour after today's 08:00 CEST
    result = plan_once(engine=engine, now=now, grace=GRACE)
    rows = deliveries(engine)
    assert [(r.local_date, r.state) for r in rows] == [
        ("2026-06-10", "skipped"),
        ("2026-06-15", "pending"),
    ]
    assert (result.planned, result.skipped) == (1, 1)
    assert chat(engine, 1).next_digest_at == datetime(2026, 6, 16, 6, 0, tzinfo=UTC)


def _race(url: str, now: datetime, n_planners: int = 2) -> list[int]:
    engines = [make_engine(url) for _ in range(n_planners)]
    barrier = threading.Barrier(n_planners)
    planned: list[int] = [0] * n_planners
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            planned[i] = plan_once(engine=engines[i], now=now, grace=GRACE, batch_size=300).planned
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_planners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert not errors, errors
    return planned


def test_two_planners_at_once_never_double_plan(any_engine: Engine) -> None:
    due = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)
    add_chats(any_engine, 2000, due=due)
    planned = _race(any_engine.url.render_as_string(hide_password=False), due, n_planners=3)
    assert sum(planned) == 2000
    with Session(any_engine) as session:
        total = session.scalar(select(func.count()).select_from(Delivery))
        distinct = session.scalar(select(func.count(func.distinct(Delivery.chat_id))))
        runs = session.scalars(select(DigestRun)).all()
    assert total == distinct == 2000
    assert sum(r.planned for r in runs) == 2000


def test_schedules_impossibly_far_ahead_are_recomputed(engine: Engine) -> None:
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    # A clock that ran ten days ahead left these; the grace (6 h) plus a day is the horizon.
    stranded = add_chats(engine, 3, due=now + timedelta(days=10), start_id=1)
    fine = add_chats(engine, 1, due=now + timedelta(hours=23), start_id=10)
    edge = add_chats(engine, 1, due=now + timedelta(days=1) + GRACE, start_id=20)
    assert heal_schedules(engine=engine, now=now, grace=GRACE, batch_size=2) == 3
    expected = next_occurrence("08:00", "Europe/Berlin", now)
    assert expected - now < timedelta(days=1)
    for chat_id in stranded:
        assert chat(engine, chat_id).next_digest_at == expected
    assert chat(engine, fine[0]).next_digest_at == now + timedelta(hours=23)
    assert chat(engine, edge[0]).next_digest_at == now + timedelta(days=1) + GRACE
    assert heal_schedules(engine=engine, now=now, grace=GRACE) == 0
    # With a tiny grace a schedule 25 h ahead (the day a DST change adds an hour) stays.
    dst = add_chats(engine, 1, due=now + timedelta(hours=25), start_id=30)
    heal_schedules(engine=engine, now=now, grace=timedelta(minutes=1))
    assert chat(engine, dst[0]).next_digest_at == now + timedelta(hours=25)
    assert chat(engine, edge[0]).next_digest_at == expected  # 30 h ahead: beyond 26 h
