"""The newsroom's queue in storage: conditional claims, leases, usage, the shared rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.enrichment import (
    claim,
    due_article_ids,
    queue_counts,
    release,
    retry_later,
    sync_queue,
)
from storage.llm_usage import add_usage, take_request_slot, tokens_used
from storage.models import Enrichment
from tests.factories import make_article

NOW = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _queued(engine: Engine) -> int:
    with Session(engine) as session:
        article = make_article(session, published_at=NOW - timedelta(hours=1))
        assert sync_queue(session=session, since=NOW - timedelta(days=1), now=NOW) == 1
        session.commit()
        assert article.id is not None
        return article.id


def test_one_claim_wins_and_an_expired_lease_can_be_taken_over(any_engine: Engine) -> None:
    article_id = _queued(any_engine)
    with Session(any_engine) as session:
        assert claim(session=session, article_id=article_id, owner="a", now=NOW, lease=LEASE)
        session.commit()
    with Session(any_engine) as session:
        assert not claim(session=session, article_id=article_id, owner="b", now=NOW, lease=LEASE)
        assert due_article_ids(session=session, now=NOW, limit=10) == []
        later = NOW + LEASE + timedelta(seconds=1)
        assert due_article_ids(session=session, now=later, limit=10) == [article_id]
        assert claim(session=session, article_id=article_id, owner="b", now=later, lease=LEASE)
        session.commit()
    with Session(any_engine) as session:
        # The first owner's late result no longer counts: it lost the lease.
        release(session=session, article_id=article_id, owner="a", now=NOW)
        row = session.get(Enrichment, article_id)
        assert row is not None and row.lease_owner == "b" and row.attempts == 2


def test_unchanged_articles_are_not_queued_again(any_engine: Engine) -> None:
    _queued(any_engine)
    with Session(any_engine) as session:
        assert sync_queue(session=session, since=NOW - timedelta(days=1), now=NOW) == 0
        assert queue_counts(session=session)["pending"] == 1


def test_retry_later_fails_after_the_last_attempt(any_engine: Engine) -> None:
    article_id = _queued(any_engine)
    with Session(any_engine) as session:
        for attempt in range(1, 3):
            now = NOW + timedelta(minutes=attempt)
            assert claim(session=session, article_id=article_id, owner="w", now=now, lease=LEASE)
            state = retry_later(
                session=session,
                article_id=article_id,
                owner="w",
                now=now,
                at=now,
                reason="HTTP 500",
                max_attempts=2,
            )
            assert state == ("pending" if attempt == 1 else "failed")
        session.commit()
        assert queue_counts(session=session)["failed"] == 1


def test_usage_adds_up_and_the_rate_is_shared(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        add_usage(
            session=session, day="2026-06-15", prompt_tokens=7, completion_tokens=3, total_tokens=10
        )
        add_usage(
            session=session, day="2026-06-15", prompt_tokens=1, completion_tokens=1, total_tokens=2
        )
        session.commit()
        assert tokens_used(session=session, day="2026-06-15") == 12
        assert tokens_used(session=session, day="2026-06-16") == 0
    taken = []
    for _ in range(4):  # as if four processes asked, each with its own session
        with Session(any_engine) as session:
            taken.append(
                take_request_slot(session=session, minute="2026-06-15T03:00", per_minute=3)
            )
            session.commit()
    assert taken == [True, True, True, False]
