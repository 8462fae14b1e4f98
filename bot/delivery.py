"""The fan-out sender: claims pending deliveries, sends each digest once, records outcomes.

Exactly-once rules
------------------
* A row is committed as ``sending`` before its HTTP request may leave (``claim_pending``), in
  small batches just ahead of the rate limiter, so only rows in ``sending`` can be ambiguous.
* Success: ``sent`` with the message id, and the articles recorded as delivered.
* A read timeout or a connection lost after the request left: ``unknown``, never retried —
  Telegram has no idempotency key, a retry could deliver twice.
* Errors that prove nothing was sent (connect/pool timeouts, connection refused, HTTP 5xx) are
  retried with exponential backoff; after ``max_network_retries`` the row goes back to pending
  for the next pass.
* 429: the rate limiter pauses every request for ``retry_after`` and retries the same request.
* 403 and 400 "chat not found": ``failed``, and the chat is deactivated (``active=False``).
* ``ChatMigrated``: the chat (settings, tags, history, outbox rows) moves to the new id and the
  digest is sent there.
* Restart policy (setting ``DIGESTBOT_SENDING_POLICY``): rows found in ``sending`` at start were
  cut off by a crash. Default ``unknown``: not resent (no duplicate, maybe a loss), counted as
  unknown. ``resend``: back to pending (no loss, maybe a duplicate).

Graceful stop (``request_stop``): no new request starts; requests still waiting in the rate
limiter are cancelled and their rows return to ``pending``; requests already on the wire get
``shutdown_grace`` seconds to answer (then ``unknown``). Well inside 5 s of SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot

from bot.config import Settings
from bot.digest import DigestBuilder, DigestPlan
from bot.ratelimit import SendTicket
from storage import outbox
from storage.chats import migrate_chat
from storage.outbox import Outcome, SendingPolicy
from storage.types import utcnow

_LOGGER = logging.getLogger(__name__)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

# httpx errors raised before any byte of the request reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    workers: int = 16  # requests in flight (or waiting in the rate limiter) at once
    claim_batch: int = 16  # rows marked ``sending`` per transaction
    flush_every: int = 32  # outcomes written per transaction
    flush_interval: float = 0.25
    max_network_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    shutdown_grace: float = 3.0
    sending_policy: SendingPolicy = "unknown"
    allow_paid_broadcast: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryOptions:
        return cls(
            workers=settings.delivery_workers,
            claim_batch=settings.delivery_batch,
            sending_policy=settings.sending_policy,
            allow_paid_broadcast=settings.allow_paid_broadcast,
        )


@dataclass(slots=True)
class PassStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    returned: int = 0  # given back as pending (stop, retries exhausted)
    migrated: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def add(self, outcome: Outcome) -> None:
        if outcome.state == outbox.SENT:
            self.sent += 1
        elif outcome.state == outbox.FAILED:
            self.failed += 1
        elif outcome.state == outbox.UNKNOWN:
            self.unknown += 1
        elif outcome.state == outbox.SKIPPED:
            self.skipped += 1
        else:
            self.returned += 1

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started


@dataclass(slots=True)
class _Job:
    plan: DigestPlan
    ticket: SendTicket = field(default_factory=SendTicket)
    chat_id: int = 0
    migrated: bool = False


class Broadcaster:
    """Sends every due pending delivery; one instance per bot process."""

    def __init__(
        self,
        *,
        bot: ExtBot[Any],
        engine: Engine,
        settings: Settings,
        options: DeliveryOptions | None = None,
        builder: DigestBuilder | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.bot = bot
        self.engine = engine
        self.settings = settings
        self.options = options or DeliveryOptions.from_settings(settings)
        self.builder = builder or DigestBuilder(settings)
        self._now = now
        self._stop = asyncio.Event()
        self._outcomes: list[Outcome] = []
        self._jobs: dict[asyncio.Task[Outcome], _Job] = {}
        self.total = PassStats()

    # --- control -------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop between two messages; safe to call from a signal handler in the loop thread."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def recover(self) -> int:
        """At start: apply the policy to rows left in ``sending`` by a crash."""
        with Session(self.engine) as session:
            count = outbox.recover_sending(
                session=session, policy=self.options.sending_policy, now=self._now()
            )
            session.commit()
        if count:
            _LOGGER.warning(
                "%d deliveries were cut off by a crash: marked %s",
                count,
                "pending" if self.options.sending_policy == "resend" else "unknown",
            )
        return count

    # --- the pass ------------------------------------------------------------------------

    async def run_pass(self) -> PassStats:
        """Send until nothing due is pending or a stop is requested."""
        stats = PassStats()
        buffer: list[_Job] = []
        exhausted = False
        last_flush = time.monotonic()
        stop_waiter = asyncio.create_task(self._stop.wait())
        try:
            while not self._stop.is_set():
                if not exhausted and len(buffer) < max(1, self.options.claim_batch // 2):
                    # Claim the next batch while earlier ones are still on the wire, so the
                    # limiter never starves; only a few rows are in ``sending`` at a time.
                    claimed = await asyncio.to_thread(self._claim)
                    stats.claimed += len(claimed)
                    exhausted = not claimed
                    for plan in claimed:
                        if plan.digest is None:
                            self._record(self._unsendable(plan), stats)
                        else:
                            buffer.append(_Job(plan, chat_id=plan.delivery.chat_id))
                    continue
                while buffer and len(self._jobs) < self.options.workers:
                    job = buffer.pop(0)
                    self._jobs[asyncio.create_task(self._deliver(job))] = job
                if not self._jobs:
                    break  # exhausted and nothing in flight
                done, _ = await asyncio.wait(
                    [*self._jobs, stop_waiter],
                    timeout=self.options.flush_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in done:
                    job_done = self._jobs.pop(task, None)  # type: ignore[arg-type]
                    if job_done is not None:
                        self._record(self._outcome_of(task, job_done), stats)  # type: ignore[arg-type]
                if (
                    len(self._outcomes) >= self.options.flush_every
                    or time.monotonic() - last_flush >= self.options.flush_interval
                ):
                    await self._flush()
                    last_flush = time.monotonic()
        finally:
            stop_waiter.cancel()
            await self._wind_down(buffer, stats)
            stats.finished = time.monotonic()
            self._merge(stats)
        return stats

    def _outcome_of(self, task: asyncio.Task[Outcome], job: _Job) -> Outcome:
        if not task.cancelled() and task.exception() is None:
            return task.result()
        if not task.cancelled():
            _LOGGER.error("delivery %s crashed", job.plan.delivery.id, exc_info=task.exception())
        if job.ticket.dispatched:
            return self._fail(job, outbox.UNKNOWN, "interrupted while the request was out")
        return self._give_back(job, "interrupted before sending")

    async def _wind_down(self, buffer: list[_Job], stats: PassStats) -> None:
        # Claimed but never handed to the limiter: straight back to pending.
        for job in buffer:
            self._record(self._give_back(job, "stopped before sending"), stats)
        buffer.clear()
        waiting = [t for t, j in self._jobs.items() if not j.ticket.dispatched]
        for task in waiting:
            task.cancel()
        if self._jobs:
            await asyncio.wait(list(self._jobs), timeout=self.options.shutdown_grace)
        for task, job in list(self._jobs.items()):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._record(self._outcome_of(task, job), stats)
        self._jobs.clear()
        await self._flush()
        await asyncio.to_thread(self._finish_runs)

    def _merge(self, stats: PassStats) -> None:
        for name in ("claimed", "sent", "failed", "unknown", "skipped", "returned", "migrated"):
            setattr(self.total, name, getattr(self.total, name) + getattr(stats, name))

    def _record(self, outcome: Outcome, stats: PassStats) -> None:
        stats.add(outcome)
        self._outcomes.append(outcome)

    # --- database (worker threads) --------------------------------------------------------

    def _claim(self) -> list[DigestPlan]:
        now = self._now()
        with Session(self.engine, expire_on_commit=False) as session:
            outbox.begin_write(session=session)
            claimed = outbox.claim_pending(session=session, now=now, limit=self.options.claim_batch)
            session.commit()  # ``sending`` is durable before any request goes out
            if not claimed:
                return []
            return self.builder.build(session=session, deliveries=claimed, now=now)

    async def _flush(self) -> None:
        if not self._outcomes:
            return
        outcomes, self._outcomes = self._outcomes, []
        await asyncio.to_thread(self._write_outcomes, outcomes)

    def _write_outcomes(self, outcomes: list[Outcome]) -> None:
        with Session(self.engine) as session:
            outbox.begin_write(session=session)
            outbox.record_outcomes(session=session, outcomes=outcomes, now=self._now())
            session.commit()

    def _finish_runs(self) -> None:
        with Session(self.engine) as session:
            outbox.begin_write(session=session)
            outbox.finish_runs(session=session, now=self._now())
            session.commit()

    def _migrate(self, old_id: int, new_id: int) -> None:
        with Session(self.engine) as session:
            outbox.begin_write(session=session)
            migrate_chat(session=session, old_id=old_id, new_id=new_id)
            outbox.move_deliveries(session=session, old_chat_id=old_id, new_chat_id=new_id)
            session.commit()

    # --- one message ---------------------------------------------------------------------

    @staticmethod
    def _unsendable(plan: DigestPlan) -> Outcome:
        d = plan.delivery
        if plan.skip_reason is not None:
            return Outcome(d.id, d.chat_id, outbox.SKIPPED, plan.skip_reason, run_id=d.run_id)
        return Outcome(d.id, d.chat_id, outbox.FAILED, plan.error, run_id=d.run_id)

    @staticmethod
    def _give_back(job: _Job, reason: str) -> Outcome:
        d = job.plan.delivery
        return Outcome(d.id, job.chat_id, outbox.PENDING, reason, run_id=d.run_id)

    @staticmethod
    def _fail(job: _Job, state: str, reason: str, *, deactivate: bool = False) -> Outcome:
        d = job.plan.delivery
        return Outcome(
            d.id, job.chat_id, state, reason[:500], deactivate_chat=deactivate, run_id=d.run_id
        )

    async def _deliver(self, job: _Job) -> Outcome:
        digest = job.plan.digest
        assert digest is not None
        d = job.plan.delivery
        retries = 0
        migrations = 0
        extra: dict[str, Any] = {}
        if self.options.allow_paid_broadcast:
            extra["allow_paid_broadcast"] = True
        while True:
            job.ticket.dispatched = False
            try:
                message = await self.bot.send_message(
                    chat_id=job.chat_id,
                    text=digest.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=digest.markup,
                    link_preview_options=_NO_PREVIEW,
                    rate_limit_args=job.ticket,
                    **extra,
                )
            except ChatMigrated as exc:
                migrations += 1
                if migrations > 2:
                    return self._fail(job, outbox.FAILED, "chat migrated repeatedly")
                new_id = int(exc.new_chat_id)
                await asyncio.to_thread(self._migrate, job.chat_id, new_id)
                _LOGGER.info("chat %s migrated to %s; sending there", job.chat_id, new_id)
                job.chat_id = new_id
                job.migrated = True
                continue
            except RetryAfter as exc:
                # The limiter already honoured and retried; it gave up, so try on a later pass.
                return self._give_back(job, f"flood control: {exc}")
            except Forbidden as exc:
                return self._fail(job, outbox.FAILED, f"forbidden: {exc.message}", deactivate=True)
            except BadRequest as exc:
                gone = "chat not found" in exc.message.lower()
                return self._fail(
                    job, outbox.FAILED, f"bad request: {exc.message}", deactivate=gone
                )
            except TimedOut as exc:
                if (
                    not isinstance(exc.__cause__, _NOT_SENT)
                    and "pool timeout" not in str(exc).lower()
                ):
                    return self._fail(job, outbox.UNKNOWN, f"timed out after sending: {exc}")
                outcome = await self._backoff(job, retries, f"timed out before sending: {exc}")
                if outcome is not None:
                    return outcome
                retries += 1
                continue
            except NetworkError as exc:
                cause = exc.__cause__
                if isinstance(cause, httpx.HTTPError) and not isinstance(cause, _NOT_SENT):
                    # The connection broke after the request was written: it may have arrived.
                    return self._fail(job, outbox.UNKNOWN, f"connection lost: {exc}")
                # Telegram answered (5xx, maybe an HTML 502 page), or a connect error: nothing
                # was delivered.
                outcome = await self._backoff(job, retries, f"network: {exc}")
                if outcome is not None:
                    return outcome
                retries += 1
                continue
            except TelegramError as exc:
                return self._fail(job, outbox.FAILED, f"telegram: {exc.message}")
            ids = list(digest.article_ids)
            return Outcome(
                d.id,
                job.chat_id,
                outbox.SENT,
                "migrated" if job.migrated else None,
                message_ids=[message.message_id],
                article_ids=ids,
                run_id=d.run_id,
            )

    async def _backoff(self, job: _Job, retries: int, reason: str) -> Outcome | None:
        """Sleep before a retry; an Outcome instead when retries are exhausted or stopping."""
        if retries >= self.options.max_network_retries:
            return self._give_back(job, reason)
        delay = min(self.options.backoff_max, self.options.backoff_base * 2**retries)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=delay)
        if self._stop.is_set():
            return self._give_back(job, "stopped before retrying")
        return None
