"""Leases on outbox rows and the instance registry, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import instances, leases, outbox, runs
from storage.models import Chat, Delivery

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def _pending(engine: Engine, n: int) -> list[int]:
    with Session(engine) as session:
        for chat_id in range(1, n + 1):
            session.add(Chat(id=chat_id, type="private", subscribed=True, next_digest_at=NOW))
        session.commit()
        run = runs.create_run(session=session, now=NOW)
        rows = [
            {
                "run_id": run,
                "chat_id": c,
                "local_date": "2026-11-26",
                "due_at": NOW,
                "state": outbox.PENDING,
            }
            for c in range(1, n + 1)
        ]
        ids = [i for i, _, _ in outbox.insert_deliveries(session=session, rows=rows)]
        session.commit()
    return ids


def _claim(
    engine: Engine, owner: str, now: datetime, limit: int = 100, lease: timedelta = LEASE
) -> list[int]:
    with Session(engine) as session:
        claimed = outbox.claim_pending(
            session=session, now=now, limit=limit, owner=owner, until=now + lease
        )
        session.commit()
    return [c.id for c in claimed]


def _mark(engine: Engine, owner: str, ids: list[int], now: datetime) -> set[int]:
    with Session(engine) as session:
        marked = leases.mark_sending(
            session=session, ids=ids, owner=owner, now=now, until=now + LEASE
        )
        session.commit()
    return marked


def _rows(engine: Engine) -> dict[int, Delivery]:
    with Session(engine) as session:
        return {d.id: d for d in session.scalars(select(Delivery))}  # type: ignore[misc]


def _recover(engine: Engine, now: datetime, policy: outbox.SendingPolicy = "unknown") -> int:
    with Session(engine) as session:
        count = leases.recover_expired(session=session, policy=policy, now=now)
        session.commit()
    return count


def test_a_claim_leases_rows_without_marking_them_sending(any_engine: Engine) -> None:
    ids = _pending(any_engine, 5)
    assert _claim(any_engine, "a", NOW, limit=3) == ids[:3]
    rows = _rows(any_engine)
    assert {rows[i].state for i in ids} == {"pending"}
    assert [rows[i].owner for i in ids] == ["a", "a", "a", None, None]
    assert rows[ids[0]].lease_until == NOW + LEASE
    # Another instance skips leased rows and gets the rest.
    assert _claim(any_engine, "b", NOW) == ids[3:]
    assert _claim(any_engine, "c", NOW) == []


def test_mark_sending_only_marks_the_owners_rows(any_engine: Engine) -> None:
    ids = _pending(any_engine, 3)
    _claim(any_engine, "a", NOW)
    assert _mark(any_engine, "b", ids, NOW) == set()  # not b's
    assert _mark(any_engine, "a", ids[:2], NOW) == set(ids[:2])
    rows = _rows(any_engine)
    assert [rows[i].state for i in ids] == ["sending", "sending", "pending"]
    assert rows[ids[0]].attempts == 1
    assert _mark(any_engine, "a", ids[:1], NOW) == set()  # already sending: not twice


def test_recovery_touches_only_expired_leases(any_engine: Engine) -> None:
    ids = _pending(any_engine, 4)
    _claim(any_engine, "live", NOW, limit=2)
    _claim(any_engine, "dead", NOW, limit=2, lease=timedelta(minutes=-5))
    _mark(any_engine, "live", ids[:1], NOW)
    _mark(any_engine, "dead", ids[2:3], NOW - timedelta(minutes=5))
    with Session(any_engine) as session:
        assert leases.renew_leases(session=session, owner="live", until=NOW + LEASE) == 2
        session.commit()
    # Before anything expired: nothing happens.
    assert _recover(any_engine, NOW - timedelta(minutes=5)) == 0
    assert _recover(any_engine, NOW) == 1
    rows = _rows(any_engine)
    assert (rows[ids[0]].state, rows[ids[0]].owner) == ("sending", "live")  # live: untouched
    assert (rows[ids[1]].state, rows[ids[1]].owner) == ("pending", "live")
    assert (rows[ids[2]].state, rows[ids[2]].owner) == ("unknown", None)
    assert (rows[ids[3]].state, rows[ids[3]].owner) == ("pending", None)  # free again
    assert _claim(any_engine, "other", NOW) == [ids[3]]


def test_resend_policy_returns_expired_sending_rows_to_pending(any_engine: Engine) -> None:
    ids = _pending(any_engine, 1)
    _claim(any_engine, "dead", NOW)
    _mark(any_engine, "dead", ids, NOW)
    assert _recover(any_engine, NOW + LEASE + timedelta(seconds=1), "resend") == 1
    row = _rows(any_engine)[ids[0]]
    assert (row.state, row.owner, row.lease_until) == ("pending", None, None)


def test_outcomes_release_the_lease_and_counts_show_owners(any_engine: Engine) -> None:
    ids = _pending(any_engine, 3)
    _claim(any_engine, "a", NOW)
    _mark(any_engine, "a", ids[:2], NOW)
    with Session(any_engine) as session:
        counts = leases.owner_counts(session=session)
        assert counts == [("pending", "a", 1), ("sending", "a", 2)]
        outbox.record_outcomes(
            session=session,
            outcomes=[outbox.Outcome(ids[0], 1, outbox.SENT), outbox.Outcome(ids[2], 3, "pending")],
            now=NOW,
        )
        session.commit()
        assert leases.owner_counts(session=session) == [
            ("pending", None, 1),
            ("sending", "a", 1),
        ]
    rows = _rows(any_engine)
    assert (rows[ids[0]].owner, rows[ids[0]].lease_until) == (None, None)


def test_instance_registry(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        for name, beat in (("old", NOW - timedelta(days=2)), ("a", NOW), ("b", NOW)):
            instances.register(
                session=session, instance_id=name, host="h", pid=1, mode="polling", now=beat
            )
        assert instances.heartbeat(
            session=session, instance_id="a", roles=("poller", "sender"), now=NOW
        )
        assert not instances.heartbeat(session=session, instance_id="gone", roles=(), now=NOW)
        assert instances.prune(session=session, before=NOW - timedelta(days=1)) == 1
        instances.unregister(session=session, instance_id="b")
        session.commit()
        [a] = instances.instances(session=session, since=NOW - timedelta(seconds=6))
    assert (a.id, a.roles, a.mode) == ("a", ("poller", "sender"), "polling")
    assert Counter(a.roles) == Counter({"poller": 1, "sender": 1})
