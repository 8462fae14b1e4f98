"""The newsroom in the running bot: one JobQueue job, woken early after each feed poll.

The job's pass runs its database work in threads and awaits the model over the network,
so delivery, which shares the event loop, never waits for it; APScheduler runs at most one
instance of the job at a time, and a second process simply competes for claims.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from telegram.ext import Application, ContextTypes

from bot.config import Settings
from bot.content.enrich.dedup import link_duplicates
from bot.content.enrich.worker import Newsroom
from storage.types import utcnow

log = logging.getLogger(__name__)

NEWSROOM_KEY = "newsroom"
JOB_NAME = "newsroom"

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def newsroom_of(application: AnyApplication) -> Newsroom | None:
    found = application.bot_data.get(NEWSROOM_KEY)
    return found if isinstance(found, Newsroom) else None


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    newsroom = newsroom_of(context.application)
    if newsroom is not None:
        report = await newsroom.run_pass()
        if report.requests or report.failed:
            log.info(
                "newsroom: enriched %d, failed %d, %d requests, %d tokens",
                report.enriched,
                report.failed,
                report.requests,
                report.tokens,
            )


def install_newsroom(
    application: AnyApplication,
    *,
    engine: Engine,
    settings: Settings,
    clock: Callable[[], datetime] = utcnow,
) -> Newsroom | None:
    """Register the newsroom job when ``DIGESTBOT_LLM_*`` is configured (else nothing)."""
    if not settings.llm_enabled:
        return None
    assert application.job_queue is not None
    newsroom = Newsroom(engine=engine, settings=settings, clock=clock)
    application.bot_data[NEWSROOM_KEY] = newsroom
    application.job_queue.run_repeating(
        _job, interval=settings.llm_interval, first=10.0, name=JOB_NAME
    )
    return newsroom


async def after_import(
    application: AnyApplication, *, engine: Engine, settings: Settings, now: datetime
) -> None:
    """After a feed poll: link duplicates at once (no model needed), and let the newsroom
    start on the new articles now rather than at its next tick."""
    await asyncio.to_thread(link_duplicates, engine=engine, settings=settings, now=now)
    if newsroom_of(application) is not None and application.job_queue is not None:
        application.job_queue.run_once(_job, when=0.0, name=f"{JOB_NAME}-after-poll")


async def close_newsroom(application: AnyApplication) -> None:
    newsroom = newsroom_of(application)
    if newsroom is not None:
        await newsroom.close()
