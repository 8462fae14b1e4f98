"""Filter services: read a chat's filters for display, change them one step at a time.

Keywords are plain words or phrases (1-64 characters after trimming, at most 30 per chat);
they are never compiled as patterns. Each call is one short transaction.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from enum import Enum

from sqlmodel import Session

from bot.context import Deps
from bot.rules import ascii_int
from storage import filters as filter_store
from storage import tags as tag_store
from storage.db import session_scope
from storage.schemas import ChatFilters

MIN_SCORES = (0, 40, 50, 60, 70, 80)  # the choices offered; any 0-100 is accepted by command


class FilterError(Enum):
    BAD_KEYWORD = "bad_keyword"
    TOO_MANY_KEYWORDS = "too_many_keywords"
    BAD_SCORE = "bad_score"
    UNKNOWN_TAG = "unknown_tag"


def _with_names(session: Session, filters: ChatFilters, lang: str) -> ChatFilters:
    if not filters.muted_tag_ids:
        return filters
    shown = "zh" if lang == "zh_Hant" else lang  # the view converts the script
    named = tuple(
        (tag.id, tag.names.get(shown) or tag.slug)
        for tag in tag_store.tags_with_counts(session=session)
        if tag.id in filters.muted_tag_ids
    )
    return replace(filters, muted_tags=named)


def chat_filters(deps: Deps, *, chat_id: int, lang: str) -> ChatFilters:
    with session_scope(deps.engine) as session:
        return _with_names(
            session, filter_store.get_filters(session=session, chat_id=chat_id), lang
        )


def clean_keyword(text: str) -> str | None:
    """The keyword as stored: spaces collapsed, control characters refused; None if unusable."""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in text):
        return None
    word = " ".join(text.split())
    return word if 0 < len(word) <= filter_store.MAX_KEYWORD_CHARS else None


def mute_keyword(deps: Deps, *, chat_id: int, lang: str, text: str) -> ChatFilters | FilterError:
    word = clean_keyword(text)
    if word is None:
        return FilterError.BAD_KEYWORD
    with session_scope(deps.engine) as session:
        current = filter_store.get_filters(session=session, chat_id=chat_id)
        if word.casefold() in (k.casefold() for k in current.keywords):
            return _with_names(session, current, lang)
        if len(current.keywords) >= filter_store.MAX_KEYWORDS:
            return FilterError.TOO_MANY_KEYWORDS
        filter_store.update_filters(
            session=session, chat_id=chat_id, keywords=[*current.keywords, word]
        )
        return _with_names(
            session, filter_store.get_filters(session=session, chat_id=chat_id), lang
        )


def unmute_keyword(deps: Deps, *, chat_id: int, lang: str, text: str) -> ChatFilters:
    """Forget one keyword (any case); an empty ``text`` forgets them all."""
    wanted = " ".join(text.split()).casefold()
    with session_scope(deps.engine) as session:
        current = filter_store.get_filters(session=session, chat_id=chat_id)
        kept = [k for k in current.keywords if wanted and k.casefold() != wanted]
        filter_store.update_filters(session=session, chat_id=chat_id, keywords=kept)
        return _with_names(
            session, filter_store.get_filters(session=session, chat_id=chat_id), lang
        )


def set_min_score(deps: Deps, *, chat_id: int, lang: str, text: str) -> ChatFilters | FilterError:
    value = ascii_int(text, max_digits=3)
    if value is None or not 0 <= value <= 100:
        return FilterError.BAD_SCORE
    with session_scope(deps.engine) as session:
        filter_store.update_filters(session=session, chat_id=chat_id, min_score=value)
        return _with_names(
            session, filter_store.get_filters(session=session, chat_id=chat_id), lang
        )


def set_own_language_only(deps: Deps, *, chat_id: int, lang: str, on: bool) -> ChatFilters:
    with session_scope(deps.engine) as session:
        filter_store.update_filters(session=session, chat_id=chat_id, own_language_only=on)
        return _with_names(
            session, filter_store.get_filters(session=session, chat_id=chat_id), lang
        )


def set_tag_muted(
    deps: Deps,
    *,
    chat_id: int,
    lang: str,
    tag_id: int | None = None,
    name: str | None = None,
    muted: bool,
) -> ChatFilters | FilterError:
    """Mute or unmute a tag given by id (buttons) or by slug or name (commands)."""
    with session_scope(deps.engine) as session:
        if name is not None:
            found = tag_store.find_tag(session=session, text=name)
            tag_id = found.id if found else None
        elif all(t.id != tag_id for t in tag_store.tags_with_counts(session=session)):
            tag_id = None
        if tag_id is None:
            return FilterError.UNKNOWN_TAG
        filter_store.set_tag_muted(session=session, chat_id=chat_id, tag_id=tag_id, muted=muted)
        return _with_names(
            session, filter_store.get_filters(session=session, chat_id=chat_id), lang
        )
