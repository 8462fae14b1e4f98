"""Article services for chats: top, latest, tag, search, detail, digest preview.

Each call is one short read transaction and returns read models ready for the renderers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from bot.catalog.ranking import (
    digest_candidates,
    ranked_article_ids,
    top_for_tags,
    top_today,
    weights_from_settings,
)
from bot.context import Deps
from bot.digest_time import get_zone
from storage import articles as article_store
from storage import chats as chat_store
from storage.db import session_scope
from storage.ranking import latest_article_ids
from storage.schemas import ArticleView, TagInfo
from storage.search import search_article_ids

DEFAULT_LIST = 5
MAX_LIST = 10
INLINE_RESULTS = 50


def top(deps: Deps, *, limit: int = DEFAULT_LIST) -> list[ArticleView]:
    with session_scope(deps.engine) as session:
        ids = top_today(session=session, settings=deps.settings, limit=limit, now=deps.clock())
        return article_store.article_views(session=session, ids=ids)


def latest(deps: Deps, *, limit: int = DEFAULT_LIST) -> list[ArticleView]:
    with session_scope(deps.engine) as session:
        ids = latest_article_ids(session=session, limit=limit, before=None)
        return article_store.article_views(session=session, ids=ids)


def article(deps: Deps, *, article_id: int) -> ArticleView | None:
    with session_scope(deps.engine) as session:
        return article_store.get_article_view(session=session, article_id=article_id)


def search(deps: Deps, *, query: str, limit: int = DEFAULT_LIST) -> list[ArticleView]:
    with session_scope(deps.engine) as session:
        ids = search_article_ids(
            session=session, query=query, limit=limit, weights=weights_from_settings(deps.settings)
        )
        return article_store.article_views(session=session, ids=ids)


@dataclass(frozen=True, slots=True)
class TagListing:
    tag: TagInfo
    articles: list[ArticleView]


def tag_articles(
    deps: Deps, *, name: str | None = None, tag_id: int | None = None, limit: int = DEFAULT_LIST
) -> TagListing | None:
    """A tag (by slug, localized name or id) and its best recent articles, newest if none."""
    with session_scope(deps.engine) as session:
        if tag_id is not None:
            tag = next(
                (t for t in article_store.tags_with_counts(session=session) if t.id == tag_id),
                None,
            )
        else:
            tag = article_store.find_tag(session=session, text=name or "")
        if tag is None:
            return None
        now = deps.clock()
        ids = top_for_tags(
            session=session, settings=deps.settings, tag_ids=[tag.id], limit=limit, now=now
        ) or ranked_article_ids(  # nothing recent: the tag's best articles of all time
            session=session,
            settings=deps.settings,
            now=now,
            limit=limit,
            tag_ids=[tag.id],
            window="all",
        )
        return TagListing(tag, article_store.article_views(session=session, ids=ids))


def tags(deps: Deps, *, chat_id: int) -> tuple[list[TagInfo], frozenset[int]]:
    with session_scope(deps.engine) as session:
        followed = chat_store.followed_tag_ids(session=session, chat_id=chat_id)
        return article_store.tags_with_counts(session=session), frozenset(followed)


def digest_preview(deps: Deps, *, chat_id: int) -> list[ArticleView]:
    """What this chat's digest would hold right now; nothing is marked delivered."""
    with session_scope(deps.engine) as session:
        chat = chat_store.get_chat(session=session, chat_id=chat_id)
        limit = chat.article_count if chat else deps.settings.default_article_count
        ids = digest_candidates(
            session=session, settings=deps.settings, chat_id=chat_id, limit=limit, now=deps.clock()
        )
        return article_store.article_views(session=session, ids=ids)


def inline_results(deps: Deps, *, query: str, shared_id: int | None = None) -> list[ArticleView]:
    """Inline mode: one shared article, matches for the words, or today's top.

    ``shared_id`` is the article the share screen's "send to a chat" button names (the
    handler decodes its ``a<id>`` query); when given, only that article is offered.
    """
    if shared_id is not None:
        found = article(deps, article_id=shared_id)
        return [found] if found else []
    words = query.strip()
    if not words:
        return top(deps, limit=INLINE_RESULTS) or latest(deps, limit=INLINE_RESULTS)
    return search(deps, query=words, limit=INLINE_RESULTS)


def chat_zone(deps: Deps, *, chat_id: int) -> tzinfo:
    with session_scope(deps.engine) as session:
        chat = chat_store.get_chat(session=session, chat_id=chat_id)
        return get_zone(chat.timezone if chat else deps.settings.default_timezone)
