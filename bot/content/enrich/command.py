"""``digestbot enrich [--limit N] [--dry-run]``: one newsroom pass from the command line."""

from __future__ import annotations

import asyncio
from typing import IO

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.content.enrich.worker import Newsroom, PassReport

EXIT_USAGE = 2


async def _pass(engine: Engine, settings: Settings, limit: int | None, dry_run: bool) -> PassReport:
    newsroom = Newsroom(engine=engine, settings=settings)
    try:
        return await newsroom.run_pass(limit=limit, dry_run=dry_run)
    finally:
        await newsroom.close()


def run_enrich(
    engine: Engine,
    settings: Settings,
    *,
    limit: int | None,
    dry_run: bool,
    out: IO[str],
    err: IO[str],
) -> int:
    """0 all fine, 1 articles failed or the pass stopped early, 2 the newsroom is off."""
    if not settings.llm_enabled:
        err.write(
            "digestbot: the newsroom is off; set DIGESTBOT_LLM_BASE_URL and DIGESTBOT_LLM_MODEL\n"
        )
        return EXIT_USAGE
    report = asyncio.run(_pass(engine, settings, limit, dry_run))
    if dry_run:
        for article_id, title, wanted in report.planned:
            out.write(f"#{article_id} {' '.join(title.split())[:80]}: would ask for {wanted}\n")
        out.write(f"dry run: {len(report.planned)} article(s) due, nothing sent\n")
    else:
        out.write(
            f"enriched {report.enriched}, failed {report.failed}, "
            f"retry later {report.retry_later}; {report.requests} request(s), "
            f"{report.tokens:,} tokens\n"
        )
    if report.duplicates_changed:
        out.write(f"duplicates: {report.duplicates_changed} article(s) relinked\n")
    if report.stopped:
        err.write(f"digestbot: the pass stopped early: {report.stopped}\n")
    return 1 if report.failed or report.stopped else 0
