"""The one ranking entry point: which articles a chat, a tag or a list gets, best first.

``ranked_article_ids`` turns Settings into weights and a publication window, excludes what a
chat already received and respects its followed tags and its filters (muted tags and keywords,
minimum score, only its language: ``storage.filters``), then asks ``storage.ranking`` (where
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
from bot.hanzi import variants
from bot.rules import is_chinese
from storage.filters import FilterSpec, filter_conditions, get_filters, keep_matching
from storage.ranking import RankWeights, top_article_ids
from storage.schemas import ChatFilters

TOP_TODAY_HOURS = 24
TAG_WINDOW_DAYS = 7  # /tags counts and /tag lists cover the same, named, window

# "digest": DIGESTBOT_DIGEST_WINDOW hours; "today": the last 24 hours; "week": TAG_WINDOW_DAYS;
# "all": no lower bound.
Window = Literal["digest", "today", "week", "all"]


def weights_from_settings(settings: Settings) -> RankWeights:
    return RankWeights(
        hot=settings.weight_hot, quality=settings.weight_quality, impact=settings.weight_impact
    )


def window_start(settings: Settings, window: Window, now: datetime) -> datetime:
    if window == "all":
        return datetime.min.replace(tzinfo=UTC)
    if window == "week":
        return now - timedelta(days=TAG_WINDOW_DAYS)
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
    filters: FilterSpec | None = None,
) -> list[int]:
    """Best article ids published in ``window`` up to ``now``.

    With ``chat_id``: articles the chat already received are left out and, unless ``tag_ids``
    is given, only its followed tags count (following none means every tag). Without it: the
    ranking for nobody in particular. ``tag_ids`` None or empty: any tag. ``filters``: a
    chat's filters (:func:`chat_filter_spec`), applied inside the same query.
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
        extra=filter_conditions(filters, weights_from_settings(settings)) if filters else (),
    )


def text_languages(lang: str) -> tuple[str, ...]:
    """Stored article languages a ``lang`` reader reads natively (both scripts read ``zh``)."""
    return ("zh", "zh_Hant", "zh-Hant") if is_chinese(lang) else ("en",)


def spec_for(filters: ChatFilters, lang: str) -> FilterSpec | None:
    """SQL-ready filters: keywords in every spelling (晶片 also mutes 芯片); None if none."""
    if not filters.active:
        return None
    words: dict[str, None] = {}
    for keyword in filters.keywords:
        for form in variants(keyword.casefold()):
            words.setdefault(form, None)
    return FilterSpec(
        muted_tag_ids=filters.muted_tag_ids,
        keywords=tuple(words),
        min_score=filters.min_score,
        languages=text_languages(lang) if filters.own_language_only else None,
    )


def chat_filter_spec(*, session: Session, chat_id: int | None, lang: str) -> FilterSpec | None:
    if chat_id is None:
        return None
    return spec_for(get_filters(session=session, chat_id=chat_id), lang)


def apply_filters(
    *, session: Session, settings: Settings, ids: Sequence[int], filters: FilterSpec | None
) -> list[int]:
    """``ids`` in order, without what ``filters`` removes (search, latest, inline results)."""
    if filters is None:
        return list(ids)
    return keep_matching(
        session=session, ids=ids, spec=filters, weights=weights_from_settings(settings)
    )


def digest_candidates(
    *,
    session: Session,
    settings: Settings,
    chat_id: int,
    limit: int,
    now: datetime,
    filters: FilterSpec | None = None,
) -> list[int]:
    """The next digest for a chat: best undelivered articles of the digest window."""
    return ranked_article_ids(
        session=session, settings=settings, now=now, limit=limit, chat_id=chat_id, filters=filters
    )


def hidden_count(filtered: Sequence[int], unfiltered: Sequence[int]) -> int:
    """How many of the unfiltered top articles the filters removed.

    The filtered ranking is the unfiltered one minus what the filters remove, in the same
    order, so an unfiltered top article missing from the filtered top was removed by them.
    """
    kept = set(filtered)
    return sum(1 for article_id in unfiltered if article_id not in kept)


def top_today(
    *,
    session: Session,
    settings: Settings,
    limit: int,
    now: datetime,
    filters: FilterSpec | None = None,
) -> list[int]:
    """Best articles of the last 24 hours (/top); delivered ones are not hidden."""
    return ranked_article_ids(
        session=session, settings=settings, now=now, limit=limit, window="today", filters=filters
    )


def top_for_tags(
    *,
    session: Session,
    settings: Settings,
    tag_ids: Sequence[int],
    limit: int,
    now: datetime,
    filters: FilterSpec | None = None,
) -> list[int]:
    """Best articles of the last ``TAG_WINDOW_DAYS`` days carrying any of ``tag_ids`` (/tag)."""
    if not tag_ids:
        return []  # no tag asked for: nothing matches (not "every tag")
    return ranked_article_ids(
        session=session,
        settings=settings,
        now=now,
        limit=limit,
        tag_ids=tag_ids,
        window="week",
        filters=filters,
    )
