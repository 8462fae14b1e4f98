"""The periodic planner (one JobQueue job, not one per chat) and the delivery service.

Every ``DIGESTBOT_PLANNER_INTERVAL`` seconds (and once right at start) ``plan_once`` finds the
chats whose ``next_digest_at`` comes before the pass after next (two intervals ahead), creates
one ``delivery`` row per (chat, local digest date) under a unique key — ``INSERT ... ON
CONFLICT DO NOTHING``, so two planners (two processes, SQLite or PostgreSQL) can never plan one
digest twice — and moves ``next_digest_at`` to the next local occurrence
(``bot.digest_time.next_occurrence``, DST-correct). Chats sharing a zone, a time and a due
instant are planned with one statement (``storage.planning``). A row's ``due_at`` is its
not-before time: the sender sleeps until the earliest one, so the first digests of a minute
leave at that minute, not up to a planner interval later. A chat that changes its schedule
loses the rows planned ahead for the old one (``storage.planning.drop_future_rows``).

Catch-up: a digest whose time passed while the bot was down is still sent when it is planned
within the grace (``DIGESTBOT_CATCHUP_GRACE`` hours, default 6); later, it is recorded as
``skipped`` with the reason. After a downtime of several days only the most recent missed
occurrence can still be sent; older ones get one skipped row.

Healing: a ``next_digest_at`` more than a day plus the grace ahead cannot come from a schedule
(the next occurrence is at most a day away); it is left by a clock that ran ahead. Each tick
recomputes such schedules from the chat's time and zone (``heal_schedules``).

Every instance plans (safe concurrently) and recovers expired leases each tick; only the
instance elected sender (``bot.delivery.instances``) runs the broadcast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import Application, ContextTypes

from bot.config import Settings
from bot.context import Deps
from bot.delivery.broadcaster import Broadcaster
from bot.delivery.channel_rights import check_due_channels
from bot.delivery.options import DeliveryOptions, PassStats
from bot.digest_time import get_zone, next_occurrence
from bot.metrics import Metrics
from storage import outbox, planning, runs
from storage.db import session_scope
from storage.types import utcnow

_LOGGER = logging.getLogger(__name__)

PLAN_BATCH = 5_000
SERVICE_KEY = "digest_delivery"
# The sender wakes this long after a planned-ahead row's due time: the claim compares with
# the wall clock, the sleep with the loop's clock.
_WAKE_MARGIN = 0.005
# After a longer outage we do not walk every missed day one by one.
_MAX_WALK = timedelta(days=3)


def catchup_grace(settings: Settings) -> timedelta:
    """``DIGESTBOT_CATCHUP_GRACE`` in hours."""
    return timedelta(hours=settings.catchup_grace_hours)


@dataclass(slots=True)
class PlanResult:
    run_id: int | None = None
    chats: int = 0  # chats whose schedule was advanced
    planned: int = 0  # pending rows created
    skipped: int = 0  # rows created as skipped (beyond the grace)


def _slots(hhmm: str, tz: str, due: datetime, now: datetime) -> tuple[datetime, datetime, bool]:
    """(occurrence to deliver, next due, whether older occurrences were missed)."""
    if due > now:
        # Planned ahead: the row waits for its time (``due_at`` is its not-before time).
        return due, next_occurrence(hhmm, tz, due), False
    latest = due
    start = max(due, now - _MAX_WALK)
    if start > due:
        latest = next_occurrence(hhmm, tz, start - timedelta(days=1))
        latest = max(latest, due)
    while (following := next_occurrence(hhmm, tz, latest)) <= now:
        latest = following
    return latest, next_occurrence(hhmm, tz, now), latest != due


def heal_schedules(
    *, engine: Engine, now: datetime, grace: timedelta, batch_size: int = PLAN_BATCH
) -> int:
    """Recompute ``next_digest_at`` values impossibly far ahead; how many were healed."""
    # At least two hours over the day: after a DST change the next local time may legitimately
    # be 25 h away, and healing it to itself on every tick would never end.
    beyond = now + timedelta(days=1) + max(grace, timedelta(hours=2))
    healed = 0
    while True:
        with session_scope(engine) as session:
            outbox.begin_write(session=session)
            chats = outbox.far_future_chats(session=session, beyond=beyond, limit=batch_size)
            moves: list[tuple[int, datetime, datetime]] = []
            for chat in chats:
                tz = chat.timezone
                try:
                    get_zone(tz)
                except KeyError:
                    tz = "UTC"
                moves.append(
                    (chat.id, chat.next_digest_at, next_occurrence(chat.digest_time, tz, now))
                )
            outbox.advance_chats(session=session, updates=moves)
        healed += len(chats)
        if len(chats) < batch_size:
            return healed


def plan_once(
    *,
    engine: Engine,
    now: datetime,
    grace: timedelta,
    ahead: timedelta = timedelta(0),
    batch_size: int = PLAN_BATCH,
) -> PlanResult:
    """Plan every chat due by ``now + ahead`` set-based (``storage.planning``), about
    ``batch_size`` chats per transaction: on SQLite a range of the chat table with every group
    in one INSERT and one UPDATE, on PostgreSQL a batch of groups with one statement each. Safe
    to run concurrently (see ``storage.planning``)."""
    result = PlanResult()
    with session_scope(engine) as session:
        groups = planning.due_groups(session=session, until=now + ahead)
        due = sum(group.chats for group in groups)
        ranges = (
            planning.row_ranges(session=session, until=now + ahead, size=batch_size, due=due)
            if groups
            else None
        )
    plans = [planning.GroupPlan(group, *_group_rows(group, now, grace)) for group in groups]
    for rows, batch in _transactions(plans, ranges, batch_size):
        with session_scope(engine) as session:
            outbox.begin_write(session=session)
            if result.run_id is None:
                result.run_id = runs.create_run(session=session, now=now)
            done = planning.plan_groups(
                session=session, plans=batch, rows=rows, run_id=result.run_id, now=now
            )
            planned = done.states.get(outbox.PENDING, 0)
            skipped = sum(done.states.values()) - planned
            runs.set_run_counts(
                session=session, run_id=result.run_id, planned=planned, skipped=skipped
            )
        result.chats += done.chats
        result.planned += planned
        result.skipped += skipped
    if result.run_id is not None and result.planned + result.skipped == 0:
        # Another planner won every row: keep `digestbot status` free of empty runs.
        with session_scope(engine) as session:
            runs.delete_run(session=session, run_id=result.run_id)
        result.run_id = None
    return result


def _transactions(
    plans: list[planning.GroupPlan], ranges: list[planning.RowRange] | None, batch_size: int
) -> list[tuple[planning.RowRange | None, list[planning.GroupPlan]]]:
    """SQLite: each range of the table with every group. PostgreSQL: the groups in batches of
    up to ``batch_size`` chats (a larger group alone)."""
    if ranges is not None:
        return [(rows, plans) for rows in ranges]
    chunks: list[tuple[planning.RowRange | None, list[planning.GroupPlan]]] = []
    batch: list[planning.GroupPlan] = []
    chats = 0
    for plan in plans:
        if batch and chats + plan.group.chats > batch_size:
            chunks.append((None, batch))
            batch, chats = [], 0
        batch.append(plan)
        chats += plan.group.chats
    if batch:
        chunks.append((None, batch))
    return chunks


def _group_rows(
    group: planning.DueGroup, now: datetime, grace: timedelta
) -> tuple[list[planning.SlotRow], datetime]:
    """The rows every chat of the group gets, and its next due time."""
    tz = group.timezone
    try:
        zone = get_zone(tz)
    except KeyError:
        _LOGGER.warning("%d chats have unknown time zone %r: using UTC", group.chats, tz)
        tz = "UTC"
        zone = get_zone(tz)
    latest, following, missed = _slots(group.digest_time, tz, group.next_digest_at, now)
    day = latest.astimezone(zone).date().isoformat()
    rows = []
    missed_day = group.next_digest_at.astimezone(zone).date().isoformat()
    if missed and missed_day != day:
        rows.append(_row(missed_day, group.next_digest_at, now, grace))
    rows.append(_row(day, latest, now, grace))
    return rows, following


def _row(day: str, due: datetime, now: datetime, grace: timedelta) -> planning.SlotRow:
    late = now - due
    if late > grace:
        hours = late.total_seconds() / 3600
        reason = f"missed by {hours:.1f} h (catch-up grace {grace})"
        return planning.SlotRow(day, due, outbox.SKIPPED, reason)
    return planning.SlotRow(day, due, outbox.PENDING)


class DeliveryService:
    """Planner tick + one long-lived sender task; lives in ``application.bot_data``."""

    def __init__(
        self,
        *,
        broadcaster: Broadcaster,
        engine: Engine,
        settings: Settings,
        grace: timedelta | None = None,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
        sending: bool = True,
    ) -> None:
        self.broadcaster = broadcaster
        self.metrics = metrics
        self.clock = clock
        self.engine = engine
        self.settings = settings
        self.grace = grace if grace is not None else catchup_grace(settings)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Only the elected leader plans and broadcasts; a standby recovers (see instances).
        self.sending = sending
        self._pass: asyncio.Task[PassStats] | None = None
        self.last_plan: PlanResult | None = None
        # Plan what falls due before the pass after next: a late or slow tick still finds its
        # rows planned.
        self.lookahead = timedelta(seconds=2 * settings.planner_interval)
        # Set once a planner pass has run (tests wait on it for the start-up pass).
        self.ticked = asyncio.Event()
        self.last_pass_at: float | None = None  # time.monotonic() of the last planner pass
        self._passing = asyncio.Lock()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sender(), name="digest")

    async def stop(self, wait: float = 4.5) -> None:
        """Stop between two messages (pending rows stay for the next start)."""
        self.broadcaster.request_stop()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), wait)
            if not self._task.done():
                self._task.cancel()
            self._task = None

    async def set_sending(self, sending: bool, *, wait: float = 4.5) -> None:
        """Become the sender, or stop being it: the current pass ends between two messages
        (its leased rows go back to pending) and this returns when it has."""
        if not sending:
            self.sending = False
            self.broadcaster.interrupt()
            current = self._pass
            if current is not None and not current.done():
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(asyncio.shield(current), wait)
            return
        self.sending = True
        self._wake.set()
        self.start()

    async def tick(self, now: datetime | None = None) -> PlanResult:
        """One planner pass (in a worker thread: planning 100k chats must not block replies).

        Chats due before the next pass (``lookahead``) are planned now, so their rows are
        waiting when their minute comes and the sender starts on time. Passes of one process
        run one at a time (the interval job, the start-up pass and a new leader's pass may
        meet): a pass that returns has seen every earlier pass's rows."""
        async with self._passing:
            return await self._tick(now)

    async def _tick(self, now: datetime | None) -> PlanResult:
        await asyncio.to_thread(self.broadcaster.recover)
        moment = now or self.clock()
        healed = await asyncio.to_thread(
            heal_schedules, engine=self.engine, now=moment, grace=self.grace
        )
        if healed:
            _LOGGER.warning("%d schedules were impossibly far ahead: recomputed", healed)
        result = PlanResult()
        # A standby recovers and heals (safe anywhere) but leaves planning to the leader:
        # planning asks Telegram about channel rights, and every request of the bot must stay
        # within the leader's one rate budget.
        if self.sending:
            result = await self._plan(moment)
        self.last_plan = result
        self.last_pass_at = time.monotonic()
        if self.metrics is not None:
            await asyncio.to_thread(self._record_pass)
        if result.planned or result.skipped:
            _LOGGER.info(
                "planned %d digests (%d skipped) for %d chats",
                result.planned,
                result.skipped,
                result.chats,
            )
        self._wake.set()
        self.start()
        self.ticked.set()
        return result

    async def _plan(self, moment: datetime) -> PlanResult:
        deps = Deps(engine=self.engine, settings=self.settings, clock=self.clock)
        # Channels due within the look-ahead are about to be planned: check those too.
        await check_due_channels(self.broadcaster.bot, deps, moment + self.lookahead)
        return await asyncio.to_thread(
            plan_once, engine=self.engine, now=moment, grace=self.grace, ahead=self.lookahead
        )

    def _next_due(self) -> datetime | None:
        with session_scope(self.engine) as session:
            return planning.next_pending_due(session=session, after=self.clock())

    def _record_pass(self) -> None:
        assert self.metrics is not None
        self.metrics.planner_passes.inc()
        self.metrics.planner_last_pass.set_to_current_time()
        with session_scope(self.engine) as session:
            states = runs.state_counts(session=session)
        for state, rows in states.items():
            self.metrics.outbox_rows.labels(state).set(rows)

    async def _sender(self) -> None:
        while not self.broadcaster.stopping:
            # Sleep until woken (a tick, a stop) or until the earliest row planned ahead is due.
            timeout: float | None = None
            with contextlib.suppress(SQLAlchemyError):  # a hiccup: the next tick wakes us
                due = await asyncio.to_thread(self._next_due)
                if due is not None:
                    timeout = max(0.0, (due - self.clock()).total_seconds()) + _WAKE_MARGIN
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._wake.clear()
            if self.broadcaster.stopping:
                break
            if not self.sending:
                continue
            self.broadcaster.resume()
            self._pass = asyncio.create_task(self.broadcaster.run_pass(), name="digest-pass")
            try:
                await self._pass
            except Exception:
                _LOGGER.exception("digest broadcast pass failed; retrying on the next tick")


async def _planner_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    service = context.application.bot_data.get(SERVICE_KEY)
    if isinstance(service, DeliveryService):
        await service.tick()


def install_jobs(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    engine: Engine,
    settings: Settings,
    clock: Callable[[], datetime] = utcnow,
    metrics: Metrics | None = None,
) -> DeliveryService:
    """Register the digest planner jobs and the delivery service (in ``bot_data``).

    Call ``await stop_delivery(application)`` from ``post_stop`` for a graceful SIGTERM.
    """
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("install python-telegram-bot[job-queue]")
    broadcaster = Broadcaster(
        bot=application.bot,
        engine=engine,
        settings=settings,
        options=DeliveryOptions.from_settings(settings),
        now=clock,
        metrics=metrics,
    )
    service = DeliveryService(
        broadcaster=broadcaster, engine=engine, settings=settings, clock=clock, metrics=metrics
    )
    application.bot_data[SERVICE_KEY] = service
    job_queue.run_repeating(_planner_job, interval=settings.planner_interval, name="digest-planner")
    # APScheduler cannot start an interval job "now"; a one-off job without a misfire limit
    # runs the first pass (recovery, catch-up) as soon as the application starts.
    job_queue.run_once(
        _planner_job,
        when=0.0,
        name="digest-planner-start",
        job_kwargs={"misfire_grace_time": None},
    )
    return service


async def stop_delivery(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """For ``post_stop``: finish the current message, leave the rest pending."""
    service = application.bot_data.get(SERVICE_KEY)
    if isinstance(service, DeliveryService):
        await service.stop()
