"""Feed polling state (validators, failures, backoff), one row per feed URL."""

from __future__ import annotations

from sqlmodel import Session

from storage.models import FeedState


def feed_state(*, session: Session, url: str) -> FeedState:
    """The stored state of a feed, or a fresh one (not added to the session)."""
    return session.get(FeedState, url) or FeedState(url=url)


def save_feed_state(*, session: Session, state: FeedState) -> None:
    """Insert or update the feed's row (no commit)."""
    session.merge(state)
