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


def _require_aware(now: datetime) -> None:
    # A naive "now" would silently shift the window by the server's UTC offset.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")


def digest_candidates(
    *,
    session: Session,
    settings: Settings,
    chat_id: int,
    limit: int,
    now: datetime,
) -> list[int]:
    """The next digest for a chat: best undelivered articles of the digest window."""
    _require_aware(now)
    return top_article_ids(
        session=session,
        chat_id=chat_id,
        limit=limit,
        since=now - timedelta(hours=settings.digest_window_hours),
        until=now,
        weights=weights_from_settings(settings),
    )


def top_today(
    *,
    session: Session,
    settings: Settings,
    limit: int,
    now: datetime,
) -> list[int]:
    """Best articles of the last 24 hours for everyone (/top); delivered ones are not hidden."""
    _require_aware(now)
    return top_article_ids(
        session=session,
        chat_id=None,
        limit=limit,
        since=now - timedelta(hours=TOP_TODAY_HOURS),
        until=now,
        weights=weights_from_settings(settings),
        exclude_delivered=False,
    )


def top_for_tags(
    *,
    session: Session,
    settings: Settings,
    tag_ids: Sequence[int],
    limit: int,
    now: datetime,
) -> list[int]:
    """Best articles of the digest window carrying any of ``tag_ids`` (/tag)."""
    _require_aware(now)
    return top_article_ids(
        session=session,
        chat_id=None,
        limit=limit,
        since=now - timedelta(hours=settings.digest_window_hours),
        until=now,
        weights=weights_from_settings(settings),
        tag_ids=tag_ids,
        exclude_delivered=False,
    )
