"""The fan-out sender: claims pending deliveries, sends each digest once, records outcomes.

One class, the outbox state machine, kept whole on purpose (it is longer than our modules
usually are): every transition of a row, and the reason it is safe, reads in one place. The
HTTP client and error mapping live in ``botapi.py``, tunables in ``options.py``, forum topics
in ``topics.py``.

Exactly-once rules
------------------
* Rows are leased to this sender (``claim_pending``: owner + lease, still ``pending``) a
  batch (``claim_batch``, 64) ahead of the rate limiter, and each is committed as ``sending``
  only once the limiter granted its slot, right before the request leaves (``SendingMarker``,
  group commits that also carry the outcomes so far). So only rows whose requests were on
  the wire can be ambiguous after a crash.
* Leases are renewed while the pass runs; any instance recovers rows whose lease expired
  (``recover``), never a live sender's rows.
* Success: ``sent`` with the message id, and the articles recorded as delivered.
* A read timeout or a connection lost after the request left: ``unknown``, never retried —
  Telegram has no idempotency key, a retry could deliver twice.
* Errors that prove nothing was sent (connect/pool timeouts, connection refused, HTTP 5xx) are
  retried with exponential backoff; after ``max_network_retries`` the row goes back to pending
  for the next pass.
* A connection closed (or reset) before any byte of an answer arrived is retried once, after a
  backoff: nearly always a stale keep-alive connection the server dropped, so the request never
  arrived. In the rare case it did, the chat gets the digest twice — a lost digest is worse
  than a rare duplicate. A second such failure is ``unknown``.
* 429: the rate limiter pauses every request for ``retry_after`` and retries the same request.
* 403 and 400 "chat not found": ``failed``, and the chat is deactivated (``active=False``).
* ``ChatMigrated``: the chat (settings, tags, history, outbox rows) moves to the new id and the
  digest is sent there.
* Crash policy (setting ``DIGESTBOT_SENDING_POLICY``) for ``sending`` rows whose lease expired
  (their sender died mid-request). Default ``unknown``: not resent (no duplicate, maybe a
  loss), counted as unknown. ``resend``: back to pending (no loss, maybe a duplicate).

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
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine
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
from bot.delivery.botapi import (
    NO_PREVIEW,
    BotApiClient,
    closed_early,
    fast_client_for,
    message_body,
    message_id,
    reached_telegram,
)
from bot.delivery.digest import MAX_RENDERED, DigestBuilder, DigestPlan, RenderedDigest
from bot.delivery.leases import LeaseLost, SendingMarker, new_instance_id
from bot.delivery.options import DeliveryOptions, PassStats
from bot.delivery.ratelimit import SendTicket
from bot.delivery.topics import move_to_general, topic_gone
from bot.metrics import Metrics
from storage import leases, outbox, runs
from storage.chats import migrate_chat
from storage.db import session_scope
from storage.outbox import Outcome
from storage.types import utcnow

_LOGGER = logging.getLogger(__name__)
# Serialised bodies kept per rendered digest: as many as the builder keeps digests.
_MAX_CACHED = MAX_RENDERED


@dataclass(slots=True)
class _Job:
    plan: DigestPlan
    ticket: SendTicket = field(default_factory=SendTicket)
    chat_id: int = 0
    migrated: bool = False
    marked: bool = False  # committed as ``sending``
    closed_retried: bool = False
    thread_id: int | None = None  # forum topic; None after it was found closed


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
        metrics: Metrics | None = None,
        owner: str | None = None,
    ) -> None:
        self.bot = bot
        self.metrics = metrics
        self.engine = engine
        self.settings = settings
        self.options = options or DeliveryOptions.from_settings(settings)
        self.builder = builder or DigestBuilder(settings)
        self._now = now
        # The instance id written into the rows this sender leases.
        self.owner = owner or new_instance_id()
        self.lease = timedelta(seconds=self.options.lease_seconds)
        self.marker = SendingMarker(
            engine=engine, owner=self.owner, lease=self.lease, now=now, outcomes=self
        )
        self._closed = False  # request_stop: no pass starts any more
        self._stop = asyncio.Event()  # the current pass ends (stop or interrupt)
        self._wake = asyncio.Event()  # workers to refill, or a stop was requested
        self._outcomes: list[Outcome] = []
        self._stats = PassStats()  # the current pass's counters (done callbacks add to them)
        self._jobs: dict[asyncio.Task[Outcome | None], _Job] = {}
        self._client: BotApiClient | None = None
        self._bodies: dict[int, tuple[RenderedDigest, bytes]] = {}
        self.total = PassStats()

    # --- control -------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop between two messages; safe to call from a signal handler in the loop thread."""
        self._closed = True
        self.interrupt()

    def interrupt(self) -> None:
        """End the current pass between two messages (e.g. another instance sends now)."""
        self._stop.set()
        self._wake.set()

    def resume(self) -> None:
        """Allow the next pass after ``interrupt`` (not after ``request_stop``)."""
        if not self._closed:
            self._stop.clear()

    @property
    def stopping(self) -> bool:
        return self._closed

    def recover(self) -> int:
        """Apply the crash policy to rows whose lease expired (blocking; any instance may)."""
        with session_scope(self.engine) as session:
            outbox.begin_write(session=session)
            count = leases.recover_expired(
                session=session, policy=self.options.sending_policy, now=self._now()
            )
        if count:
            _LOGGER.warning(
                "%d deliveries were cut off when their sender stopped: marked %s",
                count,
                "pending" if self.options.sending_policy == "resend" else "unknown",
            )
        return count

    # --- the pass ------------------------------------------------------------------------

    async def run_pass(self) -> PassStats:
        """Send until nothing due is pending or a stop is requested."""
        stats = self._stats = PassStats()
        buffer: list[_Job] = []
        exhausted = False
        last_flush = last_renew = time.monotonic()
        if self._closed:
            return stats
        if self.builder.bot_username is None:
            with contextlib.suppress(RuntimeError):  # a bot that was never initialised
                self.builder.bot_username = self.bot.username
        if self.options.fast_path:
            self._client = fast_client_for(self.bot, connections=self.options.workers)
        try:
            while not self._stop.is_set():
                if not exhausted and len(buffer) < max(1, self.options.claim_batch // 2):
                    # Lease the next batch while earlier ones are still on the wire, so the
                    # limiter never starves; rows become ``sending`` only once granted.
                    # Outcomes so far ride along in the same transaction (one commit, not two).
                    outcomes, self._outcomes = self._outcomes, []
                    try:
                        claimed = await asyncio.to_thread(self._claim, outcomes)
                    except BaseException:
                        self._outcomes[:0] = outcomes  # not written: the wind-down retries
                        raise
                    if outcomes:
                        last_flush = time.monotonic()
                    stats.claimed += len(claimed)
                    exhausted = not claimed
                    for plan in claimed:
                        if plan.digest is None:
                            self._record(self._unsendable(plan), stats)
                        else:
                            d = plan.delivery
                            buffer.append(_Job(plan, chat_id=d.chat_id, thread_id=d.thread_id))
                    continue
                if buffer and len(self._jobs) < self.options.workers:
                    started = min(len(buffer), self.options.workers - len(self._jobs))
                    for job in buffer[:started]:
                        task = asyncio.create_task(self._deliver(job))
                        task.add_done_callback(self._task_done)
                        self._jobs[task] = job
                    del buffer[:started]
                if not self._jobs:
                    break  # exhausted and nothing in flight
                if not self._stop.is_set():
                    # Every worker is busy, or nothing is left to start: sleep until three
                    # quarters of them are free (``_task_done``), so tasks start, and their
                    # ``sending`` marks commit, in groups rather than one by one.
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.options.flush_interval):
                            await self._wake.wait()
                if (
                    len(self._outcomes) >= self.options.flush_every
                    or time.monotonic() - last_flush >= self.options.flush_interval
                ):
                    await self._flush()
                    last_flush = time.monotonic()
                if time.monotonic() - last_renew >= self.lease.total_seconds() / 3:
                    await asyncio.to_thread(self.marker.renew)
                    last_renew = time.monotonic()
        finally:
            try:
                await self._wind_down(buffer, stats)
            finally:
                client, self._client = self._client, None
                if client is not None:
                    await client.aclose()
            stats.finished = time.monotonic()
            self._merge(stats)
        return stats

    def _task_done(self, task: asyncio.Task[Outcome | None]) -> None:
        # Recorded at once, so the next ``sending`` commit carries the outcome: a crash then
        # leaves in ``sending`` only rows whose requests are still out.
        job = self._jobs.pop(task, None)
        if job is not None:
            self._record(self._outcome_of(task, job), self._stats)
        if len(self._jobs) <= self.options.workers // 4 or self._stop.is_set():
            self._wake.set()

    def _outcome_of(self, task: asyncio.Task[Outcome | None], job: _Job) -> Outcome | None:
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
        for task in list(self._jobs):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            left = self._jobs.pop(task, None)  # None: its done callback recorded it already
            if left is not None:
                self._record(self._outcome_of(task, left), stats)
        self._jobs.clear()
        # A mark still on its way must land before a give-back of the same row is written.
        await self.marker.drain()
        await self._flush()
        await asyncio.to_thread(self._finish_runs)

    def _merge(self, stats: PassStats) -> None:
        for name in ("claimed", "sent", "failed", "unknown", "skipped", "returned", "migrated"):
            setattr(self.total, name, getattr(self.total, name) + getattr(stats, name))

    def take(self) -> list[Outcome]:
        """Outcomes not written yet, for the marker's next commit (``OutcomeQueue``)."""
        taken, self._outcomes = self._outcomes, []
        return taken

    def restore(self, outcomes: list[Outcome]) -> None:
        self._outcomes[:0] = outcomes

    def _record(self, outcome: Outcome | None, stats: PassStats) -> None:
        if outcome is None:  # the row is another instance's now: nothing of ours to write
            stats.returned += 1
            return
        stats.add(outcome)
        self._outcomes.append(outcome)
        if self.metrics is not None:
            state = "returned" if outcome.state == outbox.PENDING else outcome.state
            self.metrics.sends.labels(state).inc()

    # --- database (worker threads) --------------------------------------------------------

    def _claim(self, outcomes: list[Outcome] | None = None) -> list[DigestPlan]:
        now = self._now()
        with session_scope(self.engine) as session:
            outbox.begin_write(session=session)
            if outcomes:
                outbox.record_outcomes(session=session, outcomes=outcomes, now=now)
            claimed = outbox.claim_pending(
                session=session,
                now=now,
                limit=self.options.claim_batch,
                owner=self.owner,
                until=now + self.lease,
            )
        if not claimed:
            return []
        with session_scope(self.engine) as session:
            return self.builder.build(session=session, deliveries=claimed, now=now)

    async def _flush(self) -> None:
        if not self._outcomes:
            return
        outcomes, self._outcomes = self._outcomes, []
        await asyncio.to_thread(self._write_outcomes, outcomes)

    def _write_outcomes(self, outcomes: list[Outcome]) -> None:
        with session_scope(self.engine) as session:
            outbox.begin_write(session=session)
            outbox.record_outcomes(session=session, outcomes=outcomes, now=self._now())

    def _finish_runs(self) -> None:
        with session_scope(self.engine) as session:
            outbox.begin_write(session=session)
            runs.finish_runs(session=session, now=self._now())

    def _migrate(self, old_id: int, new_id: int) -> None:
        with session_scope(self.engine) as session:
            outbox.begin_write(session=session)
            migrate_chat(session=session, old_id=old_id, new_id=new_id)
            outbox.move_deliveries(session=session, old_chat_id=old_id, new_chat_id=new_id)

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

    async def _before_send(self, job: _Job) -> None:
        """The limiter granted the slot: commit the row as ``sending`` (once), then it leaves."""
        if not job.marked:
            await self.marker.mark(job.plan.delivery.id)
            job.marked = True

    async def _deliver(self, job: _Job) -> Outcome | None:
        digest = job.plan.digest
        assert digest is not None
        d = job.plan.delivery
        retries = 0
        migrations = 0
        job.ticket.before_send = partial(self._before_send, job)
        while True:
            job.ticket.dispatched = False
            try:
                message_id = await self._send(job, digest)
            except LeaseLost:
                _LOGGER.warning("delivery %s: lease lost to another instance; not sent", d.id)
                return None
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
                if job.thread_id is not None and topic_gone(exc.message):
                    thread_id, job.thread_id = job.thread_id, None
                    lang = self.builder.language_of(d)
                    await move_to_general(
                        self.bot, self.engine, chat_id=job.chat_id, thread_id=thread_id, lang=lang
                    )
                    continue  # the digest goes to General instead of being lost
                gone = "chat not found" in exc.message.lower()
                return self._fail(
                    job, outbox.FAILED, f"bad request: {exc.message}", deactivate=gone
                )
            except NetworkError as exc:  # TimedOut included
                timed_out = isinstance(exc, TimedOut)
                if closed_early(exc) and not job.closed_retried:
                    job.closed_retried = True
                    outcome = await self._backoff(job, 0, f"connection closed early: {exc}")
                    if outcome is not None:
                        return outcome
                    continue
                if reached_telegram(exc):
                    # A read timeout, or the connection broke after the request was written:
                    # it may have arrived, and a retry could deliver twice.
                    reason = "timed out after sending" if timed_out else "connection lost"
                    return self._fail(job, outbox.UNKNOWN, f"{reason}: {exc}")
                # Telegram answered (5xx, maybe an HTML 502 page), or a connect error: nothing
                # was delivered.
                reason = "timed out before sending" if timed_out else "network"
                outcome = await self._backoff(job, retries, f"{reason}: {exc}")
                if outcome is not None:
                    return outcome
                retries += 1
                continue
            except TelegramError as exc:
                return self._fail(job, outbox.FAILED, f"telegram: {exc.message}")
            if self.metrics is not None:
                lag = (self._now() - d.due_at).total_seconds()
                self.metrics.planner_lag_seconds.observe(max(0.0, lag))
            ids = list(digest.article_ids)
            return Outcome(
                d.id,
                job.chat_id,
                outbox.SENT,
                "migrated" if job.migrated else None,
                message_ids=[message_id],
                article_ids=ids,
                run_id=d.run_id,
            )

    async def _send(self, job: _Job, digest: RenderedDigest) -> int:
        """Send one digest through the shared rate limiter; the new message's id."""
        if self._client is None:
            if self.bot.rate_limiter is None:
                await self._before_send(job)  # no limiter to call the hook for us
            extra: dict[str, Any] = {}
            if self.options.allow_paid_broadcast:
                extra["allow_paid_broadcast"] = True
            message = await self.bot.send_message(
                chat_id=job.chat_id,
                text=digest.text,
                parse_mode=ParseMode.HTML,
                reply_markup=digest.markup,
                link_preview_options=NO_PREVIEW,
                message_thread_id=job.thread_id,
                rate_limit_args=job.ticket,
                **extra,
            )
            return message.message_id
        body = self._body(digest)
        limiter = self.bot.rate_limiter
        if limiter is None:
            await self._before_send(job)
            job.ticket.dispatched = True
            return message_id(await self._post_message(job.chat_id, body, job.thread_id))
        # The same limiter object and call PTB's ExtBot makes for every request, so replies
        # keep their priority and a 429 pauses everything.
        data: dict[str, Any] = {"chat_id": job.chat_id}
        if self.options.allow_paid_broadcast:
            data["allow_paid_broadcast"] = True
        result = await limiter.process_request(
            self._post_message,
            (job.chat_id, body, job.thread_id),
            {},
            "sendMessage",
            data,
            job.ticket,
        )
        return message_id(result)

    async def _post_message(
        self, chat_id: int, body: bytes, thread_id: int | None = None
    ) -> dict[str, Any]:
        """POST sendMessage; its ``result`` (what PTB's request callbacks return)."""
        client = self._client
        assert client is not None
        if thread_id is not None:
            head = b'{"chat_id":%d,"message_thread_id":%d,' % (chat_id, thread_id)
        else:
            head = b'{"chat_id":%d,' % chat_id
        return await client.call("sendMessage", head + body)

    def _body(self, digest: RenderedDigest) -> bytes:
        """The JSON body after ``{"chat_id":N,`` — serialised once per rendered digest."""
        found = self._bodies.get(id(digest))
        if found is not None and found[0] is digest:
            return found[1]
        encoded = message_body(
            digest.text,
            digest.markup,
            defaults=self.bot.defaults,
            allow_paid_broadcast=self.options.allow_paid_broadcast,
        )
        if len(self._bodies) > _MAX_CACHED:
            self._bodies.clear()
        self._bodies[id(digest)] = (digest, encoded)
        return encoded

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
