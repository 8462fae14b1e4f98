"""Ranking services: turn Settings into weights and windows, then ask storage.ranking.

The formula itself is documented in ``storage.ranking`` (score = hot*w_hot +
quality*w_quality + impact*w_impact, window of ``digest_window_hours``, delivered articles
excluded, followed tags respected, ties by newer then higher id).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.config import Settings
from storage.ranking import RankWeights, top_article_ids

TOP_TODAY_HOURS = 24


def weights_from_settings(settings: Settings) -> RankWeights:
    return RankWeights(
        hot=settings.weight_hot, quality=settings.weight_quality, impact=settings.weight_impact
    )


def _ranked(
    session: Session,
    settings: Settings,
    *,
    now: datetime,
    hours: int,
    limit: int,
    chat_id: int | None = None,
    tag_ids: Sequence[int] | None = None,
) -> list[int]:
    # A naive "now" would silently shift the window by the server's UTC offset.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return top_article_ids(
        session=session,
        chat_id=chat_id,
        limit=limit,
        since=now - timedelta(hours=hours),
        until=now,
        weights=weights_from_settings(settings),
        tag_ids=tag_ids,
        exclude_delivered=chat_id is not None,
    )


def digest_candidates(
    *, session: Session, settings: Settings, chat_id: int, limit: int, now: datetime
) -> list[int]:
    """The next digest for a chat: best undelivered articles of the digest window."""
    return _ranked(
        session,
        settings,
        now=now,
        hours=settings.digest_window_hours,
        limit=limit,
        chat_id=chat_id,
    )


def top_today(*, session: Session, settings: Settings, limit: int, now: datetime) -> list[int]:
    """Best articles of the last 24 hours for everyone (/top); delivered ones are not hidden."""
    return _ranked(session, settings, now=now, hours=TOP_TODAY_HOURS, limit=limit)


def top_for_tags(
    *, session: Session, settings: Settings, tag_ids: Sequence[int], limit: int, now: datetime
) -> list[int]:
    """Best articles of the digest window carrying any of ``tag_ids`` (/tag)."""
    return _ranked(
        session,
        settings,
        now=now,
        hours=settings.digest_window_hours,
        limit=limit,
        tag_ids=tag_ids,
    )
