"""The newsroom's state as data, for ``digestbot status``, ``digestbot enrich`` and /stats."""

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


def format_newsroom(report: NewsroomState) -> str:
    """One line for the CLI."""
    state = f"model {report.model}" if report.enabled else "off (DIGESTBOT_LLM_* not set)"
    return (
        f"newsroom: {state}; enriched {report.enriched}, pending {report.pending}, "
        f"failed {report.failed}; tokens today {report.tokens_today:,} "
        f"of {report.daily_budget:,}"
    )
