"""The fan-out sender: claims pending deliveries, sends each digest once, records outcomes.

Exactly-once rules
------------------
* Rows are leased to this sender (``claim_pending``: owner + lease, still ``pending``) a small
  batch ahead of the rate limiter, and each is committed as ``sending`` only once the limiter
  granted its slot, right before the request leaves (``SendingMarker``, group commits). So
  only rows whose requests were on the wire can be ambiguous after a crash.
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
import json
import logging
import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.delivery.digest import DigestBuilder, DigestPlan, RenderedDigest
from bot.delivery.leases import LeaseLost, SendingMarker, new_instance_id
from bot.delivery.ratelimit import SendTicket
from storage import leases, outbox
from storage.chats import migrate_chat
from storage.outbox import Outcome, SendingPolicy
from storage.types import utcnow

_LOGGER = logging.getLogger(__name__)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class _NotSent(Exception):
    """Cause of a TelegramError raised before any byte of the request left (safe to retry)."""


class _MaybeSent(Exception):
    """Cause of a TelegramError raised after the request was written (never retried)."""


class _ClosedEarly(_MaybeSent):
    """The connection closed before any byte of an answer: retried once (see the docstring)."""


# Errors raised before any byte of the request reached the server.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    _NotSent,
)


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
    lease_seconds: float = 30.0  # a claim holds this long unless renewed (every third of it)
    allow_paid_broadcast: bool = False
    # Send through the lean aiohttp Bot API client (``BotApiClient``) instead of ``send_message``
    # when the bot's request setup allows it (plain HTTPXRequest, no proxy); same limiter,
    # same errors. False: always PTB's full stack.
    fast_path: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryOptions:
        return cls(
            workers=settings.delivery_workers,
            claim_batch=settings.delivery_batch,
            sending_policy=settings.sending_policy,
            lease_seconds=settings.lease_seconds,
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
    marked: bool = False  # committed as ``sending``
    closed_retried: bool = False


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
        owner: str | None = None,
    ) -> None:
        self.bot = bot
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
        self._wake = asyncio.Event()  # a job finished, or a stop was requested
        self._finished: list[asyncio.Task[Outcome | None]] = []
        self._outcomes: list[Outcome] = []
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
        with Session(self.engine) as session:
            outbox.begin_write(session=session)
            count = leases.recover_expired(
                session=session, policy=self.options.sending_policy, now=self._now()
            )
            session.commit()
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
        stats = PassStats()
        buffer: list[_Job] = []
        exhausted = False
        last_flush = last_renew = time.monotonic()
        if self._closed:
            return stats
        if self.options.fast_path:
            self._client = fast_client_for(self.bot, connections=self.options.workers)
        try:
            while not self._stop.is_set():
                if not exhausted and len(buffer) < max(1, self.options.claim_batch // 2):
                    # Claim the next batch while earlier ones are still on the wire, so the
                    # limiter never starves; only a few rows are in ``sending`` at a time.
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
                            buffer.append(_Job(plan, chat_id=plan.delivery.chat_id))
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
                if not self._finished and not self._stop.is_set():
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.options.flush_interval):
                            await self._wake.wait()
                done, self._finished = self._finished, []
                for task in done:
                    job_done = self._jobs.pop(task, None)
                    if job_done is not None:
                        self._record(self._outcome_of(task, job_done), stats)
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
        self._finished.append(task)
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
        for task, job in list(self._jobs.items()):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._record(self._outcome_of(task, job), stats)
        self._jobs.clear()
        self._finished.clear()
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

    # --- database (worker threads) --------------------------------------------------------

    def _claim(self, outcomes: list[Outcome] | None = None) -> list[DigestPlan]:
        now = self._now()
        with Session(self.engine, expire_on_commit=False) as session:
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
            session.commit()
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
                if _closed_early(cause) and not job.closed_retried:
                    job.closed_retried = True
                    outcome = await self._backoff(job, 0, f"connection closed early: {exc}")
                    if outcome is not None:
                        return outcome
                    continue
                if isinstance(cause, httpx.HTTPError | _MaybeSent) and not isinstance(
                    cause, _NOT_SENT
                ):
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
                link_preview_options=_NO_PREVIEW,
                rate_limit_args=job.ticket,
                **extra,
            )
            return message.message_id
        body = self._body(digest)
        limiter = self.bot.rate_limiter
        if limiter is None:
            await self._before_send(job)
            job.ticket.dispatched = True
            return _message_id(await self._post_message(job.chat_id, body))
        # The same limiter object and call PTB's ExtBot makes for every request, so replies
        # keep their priority and a 429 pauses everything.
        data: dict[str, Any] = {"chat_id": job.chat_id}
        if self.options.allow_paid_broadcast:
            data["allow_paid_broadcast"] = True
        result = await limiter.process_request(
            self._post_message, (job.chat_id, body), {}, "sendMessage", data, job.ticket
        )
        return _message_id(result)

    async def _post_message(self, chat_id: int, body: bytes) -> dict[str, Any]:
        """POST sendMessage; its ``result`` (what PTB's request callbacks return)."""
        client = self._client
        assert client is not None
        status, payload = await client.post("sendMessage", b'{"chat_id":%d,%s' % (chat_id, body))
        if not HTTPStatus.OK <= status <= 299:
            raise api_error(status, payload)
        try:
            answer = json.loads(payload.decode("utf-8", "replace"))
        except ValueError as exc:
            raise TelegramError("Invalid server response") from exc
        result: dict[str, Any] = answer["result"]
        return result

    def _body(self, digest: RenderedDigest) -> bytes:
        """The JSON body after ``{"chat_id":N,`` — serialised once per rendered digest."""
        found = self._bodies.get(id(digest))
        if found is not None and found[0] is digest:
            return found[1]
        fields: dict[str, Any] = {
            "text": digest.text,
            "parse_mode": ParseMode.HTML.value,
            "link_preview_options": _NO_PREVIEW.to_dict(),
        }
        if digest.markup is not None:
            fields["reply_markup"] = digest.markup.to_dict()
        if self.options.allow_paid_broadcast:
            fields["allow_paid_broadcast"] = True
        defaults = self.bot.defaults
        if defaults is not None:
            # What ExtBot would insert from Defaults for sendMessage (the rest is explicit).
            if defaults.disable_notification is not None:
                fields["disable_notification"] = defaults.disable_notification
            if defaults.protect_content is not None:
                fields["protect_content"] = defaults.protect_content
        encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
        if len(self._bodies) > 10_000:
            self._bodies.clear()
        self._bodies[id(digest)] = (digest, encoded[1:])
        return encoded[1:]

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


# --- the lean Bot API client (broadcast fast path) ------------------------------------------

# Raised only while the connector was still getting a connection (connect refused, DNS, TLS
# handshake, connect timeout): no byte of the request can have left. aiohttp < 3.10 has no
# ``ConnectionTimeoutError``; there a connect timeout is a plain ``ServerTimeoutError``, the
# same class as a read timeout, so it counts as "may have been sent" (the safe side).
_CONNECT_ERRORS: tuple[type[Exception], ...] = (aiohttp.ClientConnectorError,) + (
    (aiohttp.ConnectionTimeoutError,) if hasattr(aiohttp, "ConnectionTimeoutError") else ()
)


class BotApiClient:
    """``POST <base_url>/<method>`` with a pre-serialised JSON body, over one aiohttp session.

    The broadcast's hot path, where PTB's generic stack (object building, form encoding, the
    httpx connection pool, ``Message`` parsing) costs several times the work itself. HTTP,
    keep-alive and TLS are aiohttp's (``ClientSession`` over a ``TCPConnector``); the session
    is opened on the first request and closed by ``aclose``. Errors are raised as the same PTB
    exceptions ``BaseRequest`` raises; their ``__cause__`` says whether the request can have
    reached Telegram (``_MaybeSent``) or not (``_NotSent``), and its own ``__cause__`` is the
    aiohttp exception.
    """

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float | None = 5.0,
        read_timeout: float | None = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        connections: int = 16,
        keepalive_timeout: float = 15.0,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"unsupported Bot API URL scheme: {url.scheme!r}")
        self._base = base_url.rstrip("/")
        self._ssl: ssl.SSLContext | bool = True
        if url.scheme == "https":
            # The trust store PTB's own httpx transport uses (certifi, SSL_CERT_FILE/DIR).
            self._ssl = ssl_context or httpx.create_ssl_context()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.connections = max(1, connections)
        self.keepalive_timeout = keepalive_timeout
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.connections,
            keepalive_timeout=self.keepalive_timeout,
            ssl=self._ssl,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # Bounded per phase: a connect timeout proves nothing was sent, a read timeout
            # does not. No overall or pool timeout (at most ``connections`` requests at once).
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=None,
                sock_connect=self.connect_timeout,
                sock_read=self.read_timeout,
            ),
            headers={"Content-Type": "application/json", "User-Agent": "digestbot"},
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,  # proxies from the environment: fast_client_for falls back to PTB
        )
        return self._session

    async def post(self, method: str, body: bytes) -> tuple[int, bytes]:
        """(HTTP status, body) of ``POST method``; PTB's NetworkError/TimedOut on failure."""
        session = self._session if self._session is not None else self._open()
        try:
            async with session.post(
                f"{self._base}/{method}", data=body, allow_redirects=False
            ) as response:
                return response.status, await response.read()
        except _CONNECT_ERRORS as exc:
            if isinstance(exc, TimeoutError):
                raise TimedOut("Timed out: connect timeout") from _chained(_NotSent, exc)
            raise NetworkError(f"Bot API connect error: {exc}") from _chained(_NotSent, exc)
        except TimeoutError as exc:  # sock_read (SocketTimeoutError), after writing
            raise TimedOut("Timed out: read timeout") from _chained(_MaybeSent, exc)
        except aiohttp.ServerDisconnectedError as exc:
            # Closed before any byte of an answer (a stale keep-alive connection, mostly).
            raise NetworkError(f"Bot API connection: {exc!r}") from _chained(_ClosedEarly, exc)
        except (aiohttp.ClientError, OSError) as exc:
            # ServerDisconnectedError, ClientPayloadError, ClientOSError, a malformed answer:
            # the connection was up, so the request may have been written and applied.
            raise NetworkError(f"Bot API connection: {exc!r}") from _chained(_MaybeSent, exc)

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _chained(kind: type[Exception], exc: BaseException) -> Exception:
    marker = kind(str(exc) or type(exc).__name__)
    marker.__cause__ = exc
    return marker


_PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
)
_PLAIN_HTTPX_KWARGS = frozenset({"timeout", "proxy", "limits", "transport", "http1", "http2"})


def fast_client_for(bot: ExtBot[Any], *, connections: int = 16) -> BotApiClient | None:
    """A ``BotApiClient`` equivalent to the bot's own request setup, or None if there is none.

    Only a plain ``HTTPXRequest`` qualifies: no proxy (argument or environment), no custom
    transport or httpx arguments, no arbitrary callback data (PTB rewrites buttons then).
    """
    request = bot.request
    if type(request) is not HTTPXRequest or bot.callback_data_cache is not None:
        return None
    kwargs = getattr(request, "_client_kwargs", None)
    if not isinstance(kwargs, dict) or set(kwargs) - _PLAIN_HTTPX_KWARGS:
        return None
    if kwargs.get("proxy") is not None or kwargs.get("transport") is not None:
        return None
    if any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return None
    timeout = kwargs.get("timeout")
    connect = timeout.connect if isinstance(timeout, httpx.Timeout) else 5.0
    try:
        return BotApiClient(
            bot.base_url,
            connect_timeout=connect,
            read_timeout=request.read_timeout,
            connections=connections,
        )
    except ValueError:
        return None


def _closed_early(cause: BaseException | None) -> bool:
    """Did the connection close before any byte of an answer (either HTTP client)?"""
    if isinstance(cause, _ClosedEarly):
        return True
    # httpx (PTB's own path): h11 saw the connection end before a status line.
    return isinstance(cause, httpx.RemoteProtocolError) and "without sending a response" in str(
        cause
    )


def _message_id(result: object) -> int:
    if not isinstance(result, dict):
        raise TelegramError("Invalid server response")
    return int(result["message_id"])


def api_error(code: int, payload: bytes) -> TelegramError:
    """The exception PTB's ``BaseRequest`` raises for this non-2xx answer (same mapping)."""
    try:
        message = f"{HTTPStatus(code).phrase} ({code})"
    except ValueError:
        message = f"Unknown HTTPError ({code})"
    try:
        data = json.loads(payload.decode("utf-8", "replace"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        message += f". Parsing the server response {payload!r} failed"
        parsing: TelegramError | None = TelegramError("Invalid server response")
        parsing.__cause__ = exc  # type: ignore[union-attr]
    else:
        parsing = None
        message = data.get("description") or message
        parameters = data.get("parameters")
        if parameters:
            migrate_to_chat_id = parameters.get("migrate_to_chat_id")
            if migrate_to_chat_id:
                return ChatMigrated(migrate_to_chat_id)
            retry_after = parameters.get("retry_after")
            if retry_after:
                return RetryAfter(retry_after)
            message += f". The server response contained unknown parameters: {parameters}"
    exception: TelegramError
    if code == HTTPStatus.FORBIDDEN:
        exception = Forbidden(message)
    elif code in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        exception = InvalidToken(message)
    elif code == HTTPStatus.BAD_REQUEST:
        exception = BadRequest(message)
    elif code == HTTPStatus.CONFLICT:
        exception = Conflict(message)
    else:
        exception = NetworkError(message)
    if parsing is not None:
        exception.__cause__ = parsing
    return exception
