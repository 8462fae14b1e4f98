"""Article services for chats: top, latest, tag, search, detail, digest preview.

Each call is one short read transaction and returns read models ready for the renderers.
Lists for a chat (``chat_id`` given) honour its filters (``bot.catalog.ranking``); ``lang`` is
the reader's language, which "only articles in my language" needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlmodel import Session

from bot.catalog.ranking import (
    TAG_WINDOW_DAYS as TAG_WINDOW_DAYS,
)
from bot.catalog.ranking import (
    apply_filters,
    chat_filter_spec,
    digest_candidates,
    hidden_count,
    top_for_tags,
    top_today,
    weights_from_settings,
)
from bot.context import Deps
from bot.digest_time import get_zone
from bot.hanzi import variants
from storage import articles as article_store
from storage import chats as chat_store
from storage import tags as tag_store
from storage.db import session_scope
from storage.filters import FilterSpec
from storage.ranking import latest_article_ids
from storage.schemas import ArticleView, TagInfo
from storage.search import search_article_ids

DEFAULT_LIST = 5
MAX_LIST = 10
INLINE_RESULTS = 50
# Filtered lists read this many times more ids before filtering (search, latest).
_OVERFETCH = 4


def _spec(session: Session, chat_id: int | None, lang: str) -> FilterSpec | None:
    return chat_filter_spec(session=session, chat_id=chat_id, lang=lang)


def top(
    deps: Deps, *, limit: int = DEFAULT_LIST, chat_id: int | None = None, lang: str = "en"
) -> list[ArticleView]:
    with session_scope(deps.engine) as session:
        ids = top_today(
            session=session,
            settings=deps.settings,
            limit=limit,
            now=deps.clock(),
            filters=_spec(session, chat_id, lang),
        )
        return article_store.article_views(session=session, ids=ids)


def latest(
    deps: Deps, *, limit: int = DEFAULT_LIST, chat_id: int | None = None, lang: str = "en"
) -> list[ArticleView]:
    with session_scope(deps.engine) as session:
        spec = _spec(session, chat_id, lang)
        ids = latest_article_ids(session=session, limit=limit if spec is None else limit * 10)
        ids = apply_filters(session=session, settings=deps.settings, ids=ids, filters=spec)
        return article_store.article_views(session=session, ids=ids[:limit])


def article(deps: Deps, *, article_id: int) -> ArticleView | None:
    with session_scope(deps.engine) as session:
        return article_store.get_article_view(session=session, article_id=article_id)


def search(
    deps: Deps,
    *,
    query: str,
    limit: int = DEFAULT_LIST,
    chat_id: int | None = None,
    lang: str = "en",
) -> list[ArticleView]:
    """Matches for ``query`` as typed and, when it has Traditional characters, in Simplified
    (stored Chinese is Simplified: "晶片" must find "芯片")."""
    weights = weights_from_settings(deps.settings)
    with session_scope(deps.engine) as session:
        spec = _spec(session, chat_id, lang)
        fetch = limit if spec is None else limit * _OVERFETCH
        ids: dict[int, None] = {}
        for form in reversed(variants(query)):  # the Simplified form first
            for found in search_article_ids(
                session=session, query=form, limit=fetch, weights=weights
            ):
                ids.setdefault(found, None)
        kept = apply_filters(session=session, settings=deps.settings, ids=list(ids), filters=spec)
        return article_store.article_views(session=session, ids=kept[:limit])


@dataclass(frozen=True, slots=True)
class TagListing:
    tag: TagInfo
    articles: list[ArticleView]
    window_days: int = TAG_WINDOW_DAYS


def _tag_window(deps: Deps) -> tuple[datetime, datetime]:
    now = deps.clock()
    return now - timedelta(days=TAG_WINDOW_DAYS), now


def tag_articles(
    deps: Deps,
    *,
    name: str | None = None,
    tag_id: int | None = None,
    limit: int = DEFAULT_LIST,
    chat_id: int | None = None,
    lang: str = "en",
) -> TagListing | None:
    """A tag (by slug, localized name or id) and its best articles of the tag window."""
    since, now = _tag_window(deps)
    with session_scope(deps.engine) as session:
        if tag_id is not None:
            tags = tag_store.tags_with_counts(session=session, since=since, until=now)
            tag = next((t for t in tags if t.id == tag_id), None)
        else:
            tag = tag_store.find_tag(session=session, text=name or "", since=since, until=now)
            if tag is None and name:
                simplified = variants(name)[-1]
                tag = tag_store.find_tag(session=session, text=simplified, since=since, until=now)
        if tag is None:
            return None
        ids = top_for_tags(
            session=session,
            settings=deps.settings,
            tag_ids=[tag.id],
            limit=limit,
            now=now,
            filters=_spec(session, chat_id, lang),
        )
        return TagListing(tag, article_store.article_views(session=session, ids=ids))


def tags(deps: Deps, *, chat_id: int) -> tuple[list[TagInfo], frozenset[int]]:
    """Every tag with its article count over the tag window, and the tags the chat follows."""
    since, now = _tag_window(deps)
    with session_scope(deps.engine) as session:
        followed = chat_store.followed_tag_ids(session=session, chat_id=chat_id)
        listed = tag_store.tags_with_counts(session=session, since=since, until=now)
        return listed, frozenset(followed)


@dataclass(frozen=True, slots=True)
class DigestPreview:
    articles: list[ArticleView]
    hidden: int  # top articles the chat's filters removed


def digest_preview(deps: Deps, *, chat_id: int, lang: str = "en") -> DigestPreview:
    """What this chat's digest would hold right now; nothing is marked delivered."""
    with session_scope(deps.engine) as session:
        chat = chat_store.get_chat(session=session, chat_id=chat_id)
        limit = chat.article_count if chat else deps.settings.default_article_count
        spec = _spec(session, chat_id, lang)
        now = deps.clock()

        def candidates(filters: FilterSpec | None) -> list[int]:
            return digest_candidates(
                session=session,
                settings=deps.settings,
                chat_id=chat_id,
                limit=limit,
                now=now,
                filters=filters,
            )

        ids = candidates(spec)
        hidden = hidden_count(ids, candidates(None)) if spec is not None else 0
        return DigestPreview(article_store.article_views(session=session, ids=ids), hidden)


def inline_results(
    deps: Deps,
    *,
    query: str,
    shared_id: int | None = None,
    user_id: int | None = None,
    lang: str = "en",
) -> list[ArticleView]:
    """Inline mode: one shared article, matches for the words, or today's top.

    ``shared_id`` is the article the share screen's "send to a chat" button names (the
    handler decodes its ``a<id>`` query); when given, only that article is offered. The
    user's filters are those of their private chat with the bot (its id is the user's id).
    """
    if shared_id is not None:
        found = article(deps, article_id=shared_id)
        return [found] if found else []
    words = query.strip()
    if not words:
        return top(deps, limit=INLINE_RESULTS, chat_id=user_id, lang=lang) or latest(
            deps, limit=INLINE_RESULTS, chat_id=user_id, lang=lang
        )
    return search(deps, query=words, limit=INLINE_RESULTS, chat_id=user_id, lang=lang)


def chat_zone(deps: Deps, *, chat_id: int) -> tzinfo:
    with session_scope(deps.engine) as session:
        chat = chat_store.get_chat(session=session, chat_id=chat_id)
        return get_zone(chat.timezone if chat else deps.settings.default_timezone)
