"""Working the enrichment queue within the budgets; the JobQueue job and the CLI share it.

A pass: queue new or changed articles (``storage.enrichment.sync_queue``), fetch missing
embeddings, link duplicates, then let ``DIGESTBOT_LLM_CONCURRENCY`` workers claim due
articles one by one. Each claimed article gets one chat request asking for what it lacks;
an invalid answer is asked again once, then the article is failed with the reason. 429
puts the article back until ``Retry-After`` and ends the pass; 5xx and timeouts back off
exponentially. Requests per minute are counted in the database (every process shares the
limit), tokens per UTC day too; a spent budget ends the pass and leaves articles pending.
Database work runs in worker threads, so the bot's event loop (delivery) never waits on it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.content.enrich import embed
from bot.content.enrich.client import Completion, LlmClient, LlmError
from bot.content.enrich.dedup import link_duplicates
from bot.content.enrich.prompts import PROMPT_VERSION, build_messages
from bot.content.enrich.schema import (
    InvalidAnswer,
    Wanted,
    answer_shape,
    json_schema,
    lacking,
    parse_answer,
    source_record,
)
from storage import enrichment as queue
from storage import llm_usage
from storage.db import session_scope
from storage.enrichment import SourceArticle
from storage.generated import Enriched
from storage.models import Enrichment
from storage.tags import tag_slugs
from storage.types import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
DEFAULT_PASS_LIMIT = 500


@dataclass(slots=True)
class PassReport:
    queued: int = 0
    requests: int = 0
    enriched: int = 0
    failed: int = 0
    retry_later: int = 0
    tokens: int = 0
    duplicates_changed: int = 0
    embedded: int = 0
    stopped: str | None = None  # why the pass ended before the queue did
    planned: list[tuple[int, str, str]] = field(default_factory=list)  # dry run: id, title, ask


class _Stop(Exception):
    """Ends the whole pass (budget spent, rate limited, the server refuses us)."""


def day_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def minute_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def backoff(attempts: int) -> timedelta:
    delay: timedelta = BACKOFF_BASE * 2 ** min(max(attempts - 1, 0), 16)
    return min(delay, BACKOFF_MAX)


class Newsroom:
    """The enrichment worker of one process; ``run_pass`` may be called again and again."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        client: LlmClient | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.client = client or LlmClient(settings)
        self.clock = clock
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=settings.llm_timeout * 4 + 60)
        self.paused_until: datetime | None = None
        self._stop_reason: str | None = None

    async def close(self) -> None:
        await self.client.close()

    # --- database steps (in threads) -----------------------------------------------------

    def _prepare(self, now: datetime) -> tuple[int, int]:
        changed = link_duplicates(engine=self.engine, settings=self.settings, now=now)
        with session_scope(self.engine) as session:
            since = now - timedelta(hours=self.settings.llm_max_age_hours)
            queued = queue.sync_queue(session=session, since=since, now=now)
            llm_usage.prune_minutes(session=session, before=minute_key(now - timedelta(minutes=5)))
        return queued, changed

    def _due(self, now: datetime, limit: int) -> list[int]:
        with session_scope(self.engine) as session:
            return queue.due_article_ids(session=session, now=now, limit=limit)

    def _claim(self, article_id: int) -> tuple[SourceArticle, Wanted] | None:
        with session_scope(self.engine) as session:
            now = self.clock()
            if not queue.claim(
                session=session, article_id=article_id, owner=self.owner, now=now, lease=self.lease
            ):
                return None
            source = queue.source_article(session=session, article_id=article_id)
            slugs = sorted(tag_slugs(session=session).values())
        if source is None:
            return None
        return source, lacking(source, slugs)

    def _budget_left(self) -> int:
        with session_scope(self.engine) as session:
            used = llm_usage.tokens_used(session=session, day=day_key(self.clock()))
        return self.settings.llm_daily_tokens - used

    def _take_slot(self) -> bool:
        with session_scope(self.engine) as session:
            return llm_usage.take_request_slot(
                session=session,
                minute=minute_key(self.clock()),
                per_minute=self.settings.llm_requests_per_minute,
            )

    def _count(self, article_id: int | None, completion_tokens: tuple[int, int, int]) -> None:
        prompt, completion, total = completion_tokens
        with session_scope(self.engine) as session:
            llm_usage.add_usage(
                session=session,
                day=day_key(self.clock()),
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=total,
            )
            if article_id is not None:
                queue.add_tokens(session=session, article_id=article_id, tokens=total)

    # --- one request ---------------------------------------------------------------------

    async def before_request(self) -> None:
        """Wait for a request slot of this minute; ``_Stop`` when the day's tokens are spent."""
        if await asyncio.to_thread(self._budget_left) <= 0:
            raise _Stop("daily token budget spent")
        while not await asyncio.to_thread(self._take_slot):
            if self._stop_reason:
                raise _Stop(self._stop_reason)
            now = self.clock()
            await asyncio.sleep(61 - now.second - now.microsecond / 1e6)

    async def counted(self, article_id: int | None, usage: tuple[int, int, int]) -> None:
        await asyncio.to_thread(self._count, article_id, usage)

    async def _ask(self, source: SourceArticle, wanted: Wanted) -> Completion:
        messages = build_messages(
            article=source_record(source),
            wanted=wanted.texts
            | ({"scores": ["hot", "quality", "impact"]} if wanted.scores else {}),
            tag_slugs=wanted.tags,
            shape=answer_shape(wanted),
        )
        await self.before_request()
        completion = await self.client.chat(messages, json_schema(wanted))
        usage = completion.usage
        await self.counted(
            source.id, (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
        )
        return completion

    # --- one article ---------------------------------------------------------------------

    def _store(self, source: SourceArticle, enriched: Enriched) -> bool:
        with session_scope(self.engine) as session:
            return queue.complete(
                session=session,
                article_id=source.id,
                owner=self.owner,
                now=self.clock(),
                source_hash=source.source_hash,
                enriched=enriched,
                model=self.settings.llm_model,
                prompt_version=PROMPT_VERSION,
            )

    def _settle(
        self, article_id: int, action: str, reason: str = "", at: datetime | None = None
    ) -> str:
        """Release, fail or retry the claimed article (``backoff``: after its attempts)."""
        with session_scope(self.engine) as session:
            now = self.clock()
            if action == "backoff":
                row = session.get(Enrichment, article_id)
                at = now + backoff(row.attempts if row else 1)
            if action == "release":
                queue.release(
                    session=session,
                    article_id=article_id,
                    owner=self.owner,
                    now=now,
                    at=at,
                    reason=reason or None,
                )
                return queue.PENDING
            if action == "fail":
                queue.fail(
                    session=session, article_id=article_id, owner=self.owner, now=now, reason=reason
                )
                return queue.FAILED
            return queue.retry_later(
                session=session,
                article_id=article_id,
                owner=self.owner,
                now=now,
                at=at or now,
                reason=reason,
                max_attempts=MAX_ATTEMPTS,
            )

    async def _enrich(self, article_id: int, report: PassReport) -> None:
        claimed = await asyncio.to_thread(self._claim, article_id)
        if claimed is None:
            return  # another worker or process has it
        source, wanted = claimed
        if wanted.empty:
            await asyncio.to_thread(self._store, source, Enriched())
            return
        problem = ""
        try:
            for _try in range(2):  # an invalid answer is asked again once
                completion = await self._ask(source, wanted)
                report.requests += 1
                report.tokens += completion.usage.total_tokens
                try:
                    if completion.finish_reason == "length":
                        raise InvalidAnswer("answer cut off (finish_reason length)")
                    enriched = parse_answer(
                        completion.content, wanted=wanted, source=source, now=self.clock()
                    )
                except InvalidAnswer as exc:
                    problem = str(exc)
                    log.info("article %d: invalid answer: %s", source.id, problem)
                    continue
                if await asyncio.to_thread(self._store, source, enriched):
                    report.enriched += 1
                return
        except _Stop:
            await asyncio.to_thread(self._settle, source.id, "release")
            raise
        except LlmError as exc:
            await self._transient(source.id, exc, report)
            return
        await asyncio.to_thread(self._settle, source.id, "fail", f"invalid answer twice: {problem}")
        report.failed += 1

    async def _transient(self, article_id: int, exc: LlmError, report: PassReport) -> None:
        now = self.clock()
        if exc.kind == "refused":
            await asyncio.to_thread(self._settle, article_id, "release")
            raise _Stop(f"the model server refused the request: {exc}") from None
        if exc.kind == "bad_request":
            # Asking again would get the same answer; the rest of the queue goes on.
            await asyncio.to_thread(self._settle, article_id, "fail", str(exc))
            report.failed += 1
            return
        if exc.kind == "rate":
            wait = timedelta(seconds=exc.retry_after if exc.retry_after is not None else 60)
            self.paused_until = now + wait
            # Waiting is the server's wish, not the article's fault: no attempt is spent.
            await asyncio.to_thread(self._settle, article_id, "release", str(exc), now + wait)
            report.retry_later += 1
            raise _Stop(f"rate limited by the model server for {wait.total_seconds():.0f} s")
        state = await asyncio.to_thread(self._settle, article_id, "backoff", str(exc))
        if state == queue.FAILED:
            report.failed += 1
        else:
            report.retry_later += 1

    # --- a pass --------------------------------------------------------------------------

    async def run_pass(self, *, limit: int | None = None, dry_run: bool = False) -> PassReport:
        report = PassReport()
        now = self.clock()
        if self.paused_until is not None and now < self.paused_until:
            report.stopped = f"rate limited until {self.paused_until:%H:%M:%S} UTC"
            return report
        self._stop_reason = None
        report.queued, report.duplicates_changed = await asyncio.to_thread(self._prepare, now)
        if dry_run:
            ids = await asyncio.to_thread(self._due, now, limit or DEFAULT_PASS_LIMIT)
            report.planned = await asyncio.to_thread(embed.describe_due, self.engine, ids)
            return report
        try:
            if self.settings.llm_embedding_model:
                await self._embed(report, now)  # first: a duplicate found now costs nothing
            ids = await asyncio.to_thread(self._due, now, limit or DEFAULT_PASS_LIMIT)
            await self._work(ids, report)
        except _Stop as stop:
            report.stopped = str(stop)
        if report.stopped:
            log.warning("newsroom pass stopped: %s", report.stopped)
        return report

    async def _embed(self, report: PassReport, now: datetime) -> None:
        try:
            report.embedded = await embed.embed_missing(self, now)
        except LlmError as exc:
            # Duplicates across languages wait for the next pass; enrichment goes on.
            log.warning("embeddings failed: %s", exc)
            if exc.kind in ("rate", "refused"):
                if exc.kind == "rate":
                    self.paused_until = now + timedelta(seconds=exc.retry_after or 60)
                raise _Stop(f"embeddings: {exc}") from None
        report.duplicates_changed += await asyncio.to_thread(
            link_duplicates, engine=self.engine, settings=self.settings, now=now
        )

    async def _work(self, ids: list[int], report: PassReport) -> None:
        pending = list(reversed(ids))

        async def worker() -> None:
            while pending and not self._stop_reason:
                article_id = pending.pop()
                try:
                    await self._enrich(article_id, report)
                except _Stop as stop:
                    self._stop_reason = self._stop_reason or str(stop)

        workers = [worker() for _ in range(min(self.settings.llm_concurrency, len(ids)) or 1)]
        await asyncio.gather(*workers)
        if self._stop_reason:
            raise _Stop(self._stop_reason)
