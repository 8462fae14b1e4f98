"""The newsroom's state as data, for ``digestbot status``, ``digestbot enrich`` and /stats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.config import Settings
from storage.db import session_scope
from storage.enrichment import queue_counts
from storage.llm_usage import tokens_used


@dataclass(frozen=True, slots=True)
class NewsroomReport:
    enabled: bool
    model: str
    enriched: int
    pending: int  # pending + running
    failed: int
    tokens_today: int
    daily_budget: int


def newsroom_report(*, engine: Engine, settings: Settings, now: datetime) -> NewsroomReport:
    with session_scope(engine) as session:
        counts = queue_counts(session=session)
        used = tokens_used(session=session, day=now.strftime("%Y-%m-%d"))
    return NewsroomReport(
        enabled=settings.llm_enabled,
        model=settings.llm_model,
        enriched=counts["done"],
        pending=counts["pending"] + counts["running"],
        failed=counts["failed"],
        tokens_today=used,
        daily_budget=settings.llm_daily_tokens,
    )


def format_newsroom(report: NewsroomReport) -> str:
    """One line for the CLI."""
    state = f"model {report.model}" if report.enabled else "off (DIGESTBOT_LLM_* not set)"
    return (
        f"newsroom: {state}; enriched {report.enriched}, pending {report.pending}, "
        f"failed {report.failed}; tokens today {report.tokens_today:,} "
        f"of {report.daily_budget:,}"
    )
