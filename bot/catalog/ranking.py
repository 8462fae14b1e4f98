"""The one ranking entry point: which articles a chat, a tag or a list gets, best first.

``ranked_article_ids`` turns Settings into weights and a publication window, excludes what a
chat already received and respects its followed tags, then asks ``storage.ranking`` (where
the score formula is documented and defined once: hot*w_hot + quality*w_quality +
impact*w_impact, ties by newer then higher id). The digest builder, /top, /tag, the /digest
preview, ``digestbot digest --dry-run`` and /stats all select candidates through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlmodel import Session

from bot.config import Settings
from storage.ranking import RankWeights, top_article_ids

TOP_TODAY_HOURS = 24

# "digest": DIGESTBOT_DIGEST_WINDOW hours; "today": the last 24 hours; "all": no lower bound.
Window = Literal["digest", "today", "all"]


def weights_from_settings(settings: Settings) -> RankWeights:
    return RankWeights(
        hot=settings.weight_hot, quality=settings.weight_quality, impact=settings.weight_impact
    )


def window_start(settings: Settings, window: Window, now: datetime) -> datetime:
    if window == "all":
        return datetime.min.replace(tzinfo=UTC)
    hours = TOP_TODAY_HOURS if window == "today" else settings.digest_window_hours
    return now - timedelta(hours=hours)


def ranked_article_ids(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    limit: int,
    chat_id: int | None = None,
    tag_ids: Sequence[int] | None = None,
    window: Window = "digest",
) -> list[int]:
    """Best article ids published in ``window`` up to ``now``.

    With ``chat_id``: articles the chat already received are left out and, unless ``tag_ids``
    is given, only its followed tags count (following none means every tag). Without it: the
    ranking for nobody in particular. ``tag_ids`` None or empty: any tag.
    """
    # A naive "now" would silently shift the window by the server's UTC offset.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return top_article_ids(
        session=session,
        chat_id=chat_id,
        limit=limit,
        since=window_start(settings, window, now),
        until=now,
        weights=weights_from_settings(settings),
        tag_ids=tag_ids or None,
        exclude_delivered=chat_id is not None,
    )


def digest_candidates(
    *, session: Session, settings: Settings, chat_id: int, limit: int, now: datetime
) -> list[int]:
    """The next digest for a chat: best undelivered articles of the digest window."""
    return ranked_article_ids(
        session=session, settings=settings, now=now, limit=limit, chat_id=chat_id
    )


def top_today(*, session: Session, settings: Settings, limit: int, now: datetime) -> list[int]:
    """Best articles of the last 24 hours for everyone (/top); delivered ones are not hidden."""
    return ranked_article_ids(
        session=session, settings=settings, now=now, limit=limit, window="today"
    )


def top_for_tags(
    *, session: Session, settings: Settings, tag_ids: Sequence[int], limit: int, now: datetime
) -> list[int]:
    """Best articles of the digest window carrying any of ``tag_ids`` (/tag)."""
    if not tag_ids:
        return []  # no tag asked for: nothing matches (not "every tag")
    return ranked_article_ids(
        session=session, settings=settings, now=now, limit=limit, tag_ids=tag_ids
    )
