"""Embeddings of title + summary for cross-language duplicates, and the dry run's listing."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from bot.content.enrich.dedup import dedup_window
from bot.content.enrich.schema import lacking
from storage import enrichment as queue
from storage import stories
from storage.db import session_scope
from storage.stories import StoryCandidate, story_candidates
from storage.tags import tag_slugs

if TYPE_CHECKING:
    from bot.content.enrich.worker import Newsroom

# Enough text to say what the story is; the whole article would only cost tokens.
EMBED_MAX_CHARS = 2_000
EMBED_PER_PASS = 200


def _text(item: StoryCandidate) -> str:
    lang = sorted(item.texts)[0]
    title, summary = item.texts[lang]
    return f"{title}\n{summary}"[:EMBED_MAX_CHARS]


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _missing(engine: Engine, newsroom: Newsroom, now: datetime) -> list[tuple[int, str]]:
    model = newsroom.settings.llm_embedding_model
    with session_scope(engine) as session:
        items = story_candidates(session=session, since=now - dedup_window(newsroom.settings))
        have = stories.embeddings(session=session, ids=[i.id for i in items], model=model)
    wanted = []
    for item in reversed(items):  # newest first
        if not item.texts:
            continue
        text = _text(item)
        row = have.get(item.id)
        if row is None or row.source_hash != _hash(text):
            wanted.append((item.id, text))
    return wanted[:EMBED_PER_PASS]


def _save(engine: Engine, model: str, article_id: int, text: str, vector: list[float]) -> None:
    with session_scope(engine) as session:
        stories.save_embedding(
            session=session,
            article_id=article_id,
            model=model,
            source_hash=_hash(text),
            vector=vector,
        )


async def embed_missing(newsroom: Newsroom, now: datetime) -> int:
    """Embed recent articles that have no (current) embedding; within the same budgets."""
    engine, model = newsroom.engine, newsroom.settings.llm_embedding_model
    done = 0
    for article_id, text in await asyncio.to_thread(_missing, engine, newsroom, now):
        await newsroom.before_request()
        vector, usage = await newsroom.client.embed(text)
        await newsroom.counted(
            None, (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
        )
        await asyncio.to_thread(_save, engine, model, article_id, text, vector)
        done += 1
    return done


def describe_due(engine: Engine, ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(article id, title, what it would be asked for) of each due article, for --dry-run."""
    rows = []
    with session_scope(engine) as session:
        slugs = sorted(tag_slugs(session=session).values())
        for article_id in ids:
            source = queue.source_article(session=session, article_id=article_id)
            if source is None:
                continue
            title = next(iter(source.title.values()), "")
            rows.append((article_id, title, lacking(source, slugs).describe()))
    return rows
