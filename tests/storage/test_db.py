from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.db import current_revision, upgrade
from storage.models import Article


def test_migrations_reach_head_and_are_idempotent(any_engine: Engine) -> None:
    head = current_revision(any_engine)
    assert head is not None
    upgrade(any_engine)
    assert current_revision(any_engine) == head


def test_datetimes_round_trip_as_aware_utc(any_engine: Engine) -> None:
    shanghai = timezone(timedelta(hours=8))
    published = datetime(2026, 6, 15, 9, 0, tzinfo=shanghai)
    with Session(any_engine) as session:
        session.add(Article(external_id="x", url="https://e.x/a", published_at=published))
        session.commit()
    with Session(any_engine) as session:
        article = session.exec(select(Article)).one()
    assert article.published_at == published
    assert article.published_at.tzinfo is not None
    assert article.published_at.utcoffset() == timedelta(0)
    assert article.published_at.hour == 1


def test_naive_datetime_is_refused(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        session.add(Article(external_id="x", url="u", published_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()


def test_sqlite_runs_in_wal_mode_with_busy_timeout(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert datetime.now(UTC)
