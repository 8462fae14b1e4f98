"""The newsroom's state as data, for ``digestbot status``, ``digestbot enrich`` and /stats
(``bot.views.reports`` and ``bot.views.newsroom`` render it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.config import Settings
from storage.db import session_scope
from storage.enrichment import queue_counts
from storage.llm_usage import tokens_used
from storage.schemas import NewsroomState


def newsroom_report(*, engine: Engine, settings: Settings, now: datetime) -> NewsroomState:
    with session_scope(engine) as session:
        counts = queue_counts(session=session)
        used = tokens_used(session=session, day=now.strftime("%Y-%m-%d"))
    return NewsroomState(
        enabled=settings.llm_enabled,
        model=settings.llm_model,
        enriched=counts["done"],
        pending=counts["pending"] + counts["running"],
        failed=counts["failed"],
        tokens_today=used,
        daily_budget=settings.llm_daily_tokens,
    )
