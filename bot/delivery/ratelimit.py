"""One rate limiter for every Bot API request: Telegram's flood limits, with priorities.

``TelegramRateLimiter`` is a PTB ``BaseRateLimiter``, so handler replies and the digest broadcast
share one budget. Limits (``RateLimits``, defaults = Telegram's documented ones):

* overall: ``overall_per_second`` messages/s, paced evenly (one slot every 1/rate s) rather
  than in bursts; and a request only leaves once the answer to the request ``rate`` grants
  earlier is one second old, so no sliding 1-second window the server keeps can ever see more
  than the rate, whatever the network jitter. That costs one HTTP round trip per second of
  budget; the broadcaster's ``sending`` commit between grant and dispatch does not add to it
  (slots are granted up to one interval early and the request waits for its window);
* per chat: at most one message per ``1/per_chat_per_second`` s; groups and channels (negative
  ids) additionally at most ``group_per_minute`` in any 60 s window;
* ``allow_paid_broadcast=True`` requests use their own lane of ``paid_per_second``.

Priorities: a request without ``rate_limit_args`` (an interactive reply) is granted the next
free slot before any broadcast request that is waiting, so a button press during a long
broadcast is answered within one slot (1/30 s) plus the per-chat spacing.

429: ``RetryAfter`` pauses the whole bot (every lane) for ``retry_after`` seconds — no request
leaves during the penalty — and then the same request is retried, up to ``max_retries`` times.

Requests without a ``chat_id`` (``answerCallbackQuery``, ``getMe``...) are not throttled: they
are not messages, and Telegram does not count them against these limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.metrics import Metrics

_LOGGER = logging.getLogger(__name__)

# How far behind its grid a lane may be and still catch up (seconds); see ``_pump``.
_CATCH_UP = 0.005
# Smoothing of a lane's ``lead`` (the weight of the newest ``before_send`` time).
_LEAD_WEIGHT = 0.2

PRIORITY_INTERACTIVE = 0
PRIORITY_BROADCAST = 1

Callback = Callable[..., Coroutine[Any, Any, Any]]


@dataclass(frozen=True, slots=True)
class RateLimits:
    overall_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    group_per_minute: int = 20
    paid_per_second: float = 1000.0
    # Divides every period: 10 means ten times Telegram's rates (tests and benchmarks only).
    time_scale: float = 1.0
    # Fraction added to every period: the server's timestamp granularity (jitter is covered
    # by measuring windows from answers, see ``_Lane``).
    safety: float = 0.002
    max_retries: int = 5
    enabled: bool = True


@dataclass(slots=True)
class SendTicket:
    """``rate_limit_args`` of a request. ``dispatched`` is True while its HTTP call runs.

    The broadcaster uses ``dispatched`` to cancel only requests that have not left yet.
    ``before_send`` is awaited once the slot is granted, right before the request leaves (the
    broadcaster commits its row as ``sending`` there); if it raises, the request never leaves.
    """

    broadcast: bool = True
    max_retries: int | None = None
    dispatched: bool = False
    retries: int = 0
    before_send: Callable[[], Awaitable[None]] | None = None


@dataclass(slots=True)
class _Slot:
    """One granted request; ``done`` is when its answer (or error) came back.

    ``not_before``: when the answer to the request ``limit`` grants back is ``period`` old; the
    request must not leave earlier (``process_request`` waits for it after ``before_send``).
    """

    done: float | None = None
    not_before: float = 0.0


@dataclass(slots=True)
class _Lane:
    interval: float
    # At most ``limit`` requests per ``period`` *as the server sees them*. The server saw a
    # request somewhere between its dispatch and its answer, so a request leaves only once the
    # answer to the request ``limit`` grants back is ``period`` old: jitter between our clock
    # and the server's arrival times can then never squeeze ``limit + 1`` into one window.
    limit: int
    period: float
    slots: deque[_Slot] = field(default_factory=deque)
    heap: list[tuple[int, int, asyncio.Future[_Slot]]] = field(default_factory=list)
    next_slot: float = 0.0
    # How long ``before_send`` (the broadcaster's ``sending`` commit) takes, smoothed: slots
    # are granted this much before their window opens (at most one interval).
    lead: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


@dataclass(slots=True)
class _ChatState:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last: float = float("-inf")
    window: deque[float] = field(default_factory=deque)
    users: int = 0  # requests holding or waiting for ``lock``


class TelegramRateLimiter(BaseRateLimiter[SendTicket]):
    """See the module docstring."""

    def __init__(
        self,
        limits: RateLimits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self.limits = limits or RateLimits()
        self.metrics = metrics
        self._clock = clock
        scale = self.limits.time_scale
        margin = 1.0 + self.limits.safety
        self._chat_interval = margin / (self.limits.per_chat_per_second * scale)
        self._group_period = 60.0 * margin / scale
        self._free = _Lane(
            interval=margin / (self.limits.overall_per_second * scale),
            limit=max(1, int(self.limits.overall_per_second)),
            period=margin / scale,
        )
        self._paid = _Lane(
            interval=margin / (self.limits.paid_per_second * scale),
            limit=max(1, int(self.limits.paid_per_second)),
            period=margin / scale,
        )
        # Per-chat state exists only while it still constrains a request: in use, or its
        # spacing (private chats, ~1 s) or 60 s window (groups) not over yet. Idle states queue
        # up in ``_idle`` in the order they went idle and are swept from its front, so the
        # memory follows the sending rate (~30 chats a second), never the audience.
        self._chats: dict[int | str, _ChatState] = {}
        self._idle: deque[tuple[float, int | str]] = deque()
        self._seq = itertools.count()
        self.penalty_until = 0.0
        self.penalties = 0  # 429s seen, for stats
        self._grants = 0

    async def initialize(self) -> None:
        """Pumps start lazily on first use, in whatever loop runs the bot."""

    async def shutdown(self) -> None:
        for lane in (self._free, self._paid):
            if lane.task is not None:
                lane.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task
                lane.task = None
            for _, _, fut in lane.heap:
                fut.cancel()
            lane.heap.clear()

    @property
    def overall_per_second(self) -> float:
        """The overall rate in force (``set_overall_rate`` may have changed it)."""
        margin = 1.0 + self.limits.safety
        return margin / (self._free.interval * self.limits.time_scale)

    def set_overall_rate(self, per_second: float) -> None:
        """Change the overall (free lane) rate, e.g. this instance's share of one budget."""
        lane = self._free
        margin = 1.0 + self.limits.safety
        lane.interval = margin / (max(per_second, 0.01) * self.limits.time_scale)
        lane.limit = max(1, int(per_second))
        while len(lane.slots) > lane.limit:
            lane.slots.popleft()  # the newest ``limit`` grants decide the next one
        lane.wake.set()

    def penalty_remaining(self) -> float:
        return max(0.0, self.penalty_until - self._clock())

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: SendTicket | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        if not self.limits.enabled or chat_id is None:
            return await self._unthrottled(callback, args, kwargs, rate_limit_args)
        ticket = rate_limit_args
        priority = PRIORITY_BROADCAST if ticket is not None and ticket.broadcast else 0
        max_retries = self.limits.max_retries
        if ticket is not None and ticket.max_retries is not None:
            max_retries = ticket.max_retries
        lane = self._paid if data.get("allow_paid_broadcast") else self._free
        key = _chat_key(chat_id)
        is_group = isinstance(key, str) or key < 0
        attempt = 0
        while True:
            state = self._chat_state(key)
            state.users += 1
            try:
                async with state.lock:
                    await self._wait_chat(state, is_group)
                    slot = await self._wait_lane(lane, priority)
                    try:
                        if ticket is not None and ticket.before_send is not None:
                            started = self._clock()
                            await ticket.before_send()
                            took = self._clock() - started
                            lane.lead += (min(took, lane.interval) - lane.lead) * _LEAD_WEIGHT
                        await self._wait_window(slot)
                        if ticket is not None:
                            ticket.dispatched = True
                        # The lock is held until the request returns so two requests for one
                        # chat can never overtake each other (and a 429 is known before the
                        # next one).
                        return await callback(*args, **kwargs)
                    except RetryAfter as exc:
                        if ticket is not None:
                            ticket.dispatched = False
                            ticket.retries += 1
                        seconds = _retry_after_seconds(exc)
                        self._start_penalty(seconds)
                        if attempt >= max_retries:
                            raise
                        attempt += 1
                        _LOGGER.info("429 on %s: pausing all requests for %.1fs", endpoint, seconds)
                    finally:
                        slot.done = self._clock()
                        lane.wake.set()
                        # Per-chat spacing counts from the answer, not the grant: the server
                        # saw the request somewhere in between, so network jitter cannot make
                        # two requests to one chat look closer than allowed.
                        done = self._clock()
                        state.last = done
                        if is_group:
                            state.window.append(done)
            finally:
                state.users -= 1
                if not state.users:
                    self._idle.append((self._expiry(state, is_group), key))

    async def _unthrottled(
        self, callback: Callback, args: Any, kwargs: dict[str, Any], ticket: SendTicket | None
    ) -> Any:
        # Even unthrottled methods must not be sent while a penalty runs.
        # A deadline, not a condition: sleeping until it passes is exact (the loop re-checks
        # because a new 429 may have moved it).
        while (remaining := self.penalty_remaining()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(remaining)
        if ticket is not None:
            if ticket.before_send is not None:
                await ticket.before_send()
            ticket.dispatched = True
        return await callback(*args, **kwargs)

    def _start_penalty(self, seconds: float) -> None:
        self.penalties += 1
        if self.metrics is not None:
            self.metrics.telegram_429.inc()
            self.metrics.flood_wait_seconds.inc(seconds)
        # A small epsilon: the server started counting before our response arrived, so this
        # already ends after the server's penalty; the epsilon absorbs clock granularity.
        self.penalty_until = max(self.penalty_until, self._clock() + seconds + 0.01)

    def _chat_state(self, key: int | str) -> _ChatState:
        self._sweep()
        state = self._chats.get(key)
        if state is None:
            state = self._chats[key] = _ChatState()
        return state

    def _expiry(self, state: _ChatState, is_group: bool) -> float:
        """When the state stops constraining anything (then a fresh one behaves the same)."""
        ready = state.last + self._chat_interval
        if is_group and state.window:
            ready = max(ready, state.window[-1] + self._group_period)
        return ready

    def _sweep(self) -> None:
        now = self._clock()
        idle = self._idle
        while idle and idle[0][0] <= now:
            _, key = idle.popleft()
            state = self._chats.get(key)
            # Used again since it went idle: it is queued again when it next goes idle.
            if state is None or state.users:
                continue
            is_group = isinstance(key, str) or key < 0
            if self._expiry(state, is_group) <= now:
                del self._chats[key]

    @property
    def tracked_chats(self) -> int:
        """How many chats have limiter state now (bounded by the send rate; for tests)."""
        return len(self._chats)

    async def _wait_chat(self, state: _ChatState, is_group: bool) -> None:
        while True:
            now = self._clock()
            ready = state.last + self._chat_interval
            if is_group:
                window = state.window
                while window and window[0] <= now - self._group_period:
                    window.popleft()
                if len(window) >= self.limits.group_per_minute:
                    ready = max(ready, window[0] + self._group_period)
            if ready <= now:
                return
            await asyncio.sleep(ready - now)

    async def _wait_lane(self, lane: _Lane, priority: int) -> _Slot:
        loop = asyncio.get_running_loop()
        if lane.task is None or lane.task.done():
            lane.task = loop.create_task(self._pump(lane), name="ratelimit-pump")
        fut: asyncio.Future[_Slot] = loop.create_future()
        heapq.heappush(lane.heap, (priority, next(self._seq), fut))
        lane.wake.set()
        try:
            slot = await fut
            # The grant and the caller's resumption are one loop iteration apart; a 429
            # answered in between must still be honoured. A deadline: sleep until it passes.
            while (remaining := self.penalty_remaining()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(remaining)
            return slot
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                fut.result().done = self._clock()  # granted but never sent: free the slot
                lane.wake.set()
            fut.cancel()
            raise

    async def _wait_window(self, slot: _Slot) -> None:
        """Sleep until the slot may leave: its window (``_Slot.not_before``) and any 429 pause.

        Deadlines, not conditions: sleeping until they pass is exact (the loop re-checks
        because a new 429 may have moved the pause)."""
        while (remaining := max(slot.not_before, self.penalty_until) - self._clock()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(remaining)

    async def _pump(self, lane: _Lane) -> None:
        """Hands out slots one interval apart, always to the best (priority, arrival) waiter."""
        while True:
            if not lane.heap:
                lane.wake.clear()
                await lane.wake.wait()
                continue
            now = self._clock()
            ready = max(lane.next_slot, self.penalty_until)
            not_before = 0.0
            if len(lane.slots) >= lane.limit:
                oldest = lane.slots[0].done
                if oldest is None:
                    # The request ``limit`` grants back is still out: wait for its answer.
                    lane.wake.clear()
                    await lane.wake.wait()
                    continue
                not_before = oldest + lane.period
                # Granted ``lead`` (the usual ``before_send`` time, the broadcaster's
                # ``sending`` commit) before the window opens, so that commit runs meanwhile
                # instead of adding its latency to every window; the request itself still
                # waits for ``not_before`` (``_wait_window``). Not more: an interactive reply
                # arriving now gets the slot after this one, so a longer lead would delay it.
                ready = max(ready, not_before - lane.lead)
            if ready > now:
                await asyncio.sleep(ready - now)
                continue
            _, _, fut = heapq.heappop(lane.heap)
            if fut.done():
                continue
            slot = _Slot(not_before=not_before)
            lane.slots.append(slot)
            if len(lane.slots) > lane.limit:
                lane.slots.popleft()
            fut.set_result(slot)
            # Lateness (sleep overshoot, a busy loop) below one interval or ``_CATCH_UP`` is
            # absorbed by keeping the grid, so the achieved rate stays at the allowed rate: at
            # 1,000/s (1 ms apart) the loop is often a few slots late, and restarting the grid
            # each time lost a fifth of the budget. Catching up grants the missed slots back to
            # back, at most ``_CATCH_UP`` worth; the per-period limit above still holds. After
            # idleness the grid restarts.
            late = now - lane.next_slot
            base = lane.next_slot if late < max(lane.interval, _CATCH_UP) else now
            lane.next_slot = base + lane.interval


def _chat_key(chat_id: object) -> int | str:
    if isinstance(chat_id, int):
        return chat_id
    try:
        return int(str(chat_id))
    except ValueError:
        return str(chat_id)  # "@channelusername"


def _retry_after_seconds(exc: RetryAfter) -> float:
    value = getattr(exc, "_retry_after", None)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    return 1.0
