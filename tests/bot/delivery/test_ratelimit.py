"""The rate limiter alone, with a stub callback (no HTTP): order, pacing, windows, 429."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.delivery.ratelimit import RateLimits, SendTicket, TelegramRateLimiter
from bot.emulator import FloodLimiter, FloodLimits
from bot.metrics import Metrics

pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)


class Recorder:
    """A stand-in for PTB's request callback that checks every call against the fake's limits."""

    def __init__(self, scale: float) -> None:
        self.flood = FloodLimiter(FloodLimits(enabled=True, time_scale=scale))
        self.calls: list[tuple[str, float]] = []

    def callback(self, label: str, chat_id: int) -> Any:
        async def call() -> bool:
            self.calls.append((label, time.monotonic()))
            event = self.flood.check("sendMessage", chat_id, chat_id < 0)
            assert event is None, event
            self.flood.record_sent(chat_id, chat_id < 0)
            await asyncio.sleep(0)
            return True

        return call


async def _send(
    limiter: TelegramRateLimiter, rec: Recorder, label: str, chat_id: int, broadcast: bool
) -> Any:
    ticket = SendTicket(broadcast=True) if broadcast else None
    return await limiter.process_request(
        rec.callback(label, chat_id), (), {}, "sendMessage", {"chat_id": chat_id}, ticket
    )


async def test_interactive_reply_overtakes_a_broadcast_backlog() -> None:
    limiter = TelegramRateLimiter(RateLimits(time_scale=20.0))  # 600/s
    rec = Recorder(20.0)
    backlog = [
        asyncio.create_task(_send(limiter, rec, f"b{i}", 1000 + i, True)) for i in range(120)
    ]
    await asyncio.sleep(0)  # let the backlog queue up in the limiter
    await _send(limiter, rec, "reply", 7, False)
    position = [label for label, _ in rec.calls].index("reply")
    await asyncio.gather(*backlog)
    await limiter.shutdown()
    # Granted at the next free slot, ahead of every broadcast request still waiting.
    assert position <= 2
    assert len(rec.calls) == 121


async def test_pacing_and_group_window_never_exceed_the_limits() -> None:
    limiter = TelegramRateLimiter(RateLimits(time_scale=60.0))  # 1800/s; 20 per 1 s per group
    rec = Recorder(60.0)
    group = -100
    jobs = [_send(limiter, rec, f"p{i}", 5000 + i, True) for i in range(200)]
    jobs += [_send(limiter, rec, f"g{i}", group, False) for i in range(25)]
    started = time.monotonic()
    await asyncio.gather(*jobs)
    await limiter.shutdown()
    assert rec.flood.rejections == []
    group_times = [t for label, t in rec.calls if label.startswith("g")]
    # 25 messages to one group at 20 per (60 s / 60): the 21st waited for the window.
    assert group_times[20] - group_times[0] >= 1.0
    assert time.monotonic() - started >= 1.0


async def test_retry_after_pauses_everything_then_retries_the_same_request() -> None:
    metrics = Metrics()
    limiter = TelegramRateLimiter(RateLimits(time_scale=100.0), metrics=metrics)
    calls: list[tuple[str, float]] = []
    failed_once = False
    got_429 = asyncio.Event()

    def make(label: str) -> Any:
        async def call() -> bool:
            nonlocal failed_once
            calls.append((label, time.monotonic()))
            if label == "a" and not failed_once:
                failed_once = True
                got_429.set()
                raise RetryAfter(1)
            return True

        return call

    async def send(label: str, chat_id: int) -> Any:
        return await limiter.process_request(
            make(label), (), {}, "sendMessage", {"chat_id": chat_id}, SendTicket()
        )

    first = asyncio.create_task(send("a", 1))
    await got_429.wait()
    others = [asyncio.create_task(send(f"o{i}", 10 + i)) for i in range(5)]
    assert await first is True
    await asyncio.gather(*others)
    await limiter.shutdown()
    penalty_start = calls[0][1]
    after = [t for label, t in calls[1:]]
    assert all(t - penalty_start >= 1.0 for t in after)  # nothing during the penalty
    assert [label for label, _ in calls].count("a") == 2  # the same request, retried
    assert limiter.penalties == 1
    assert metrics.registry.get_sample_value("digestbot_telegram_429_total") == 1
    assert metrics.registry.get_sample_value("digestbot_flood_wait_seconds_total") == 1


async def test_requests_without_chat_are_not_throttled() -> None:
    limiter = TelegramRateLimiter(RateLimits(overall_per_second=1.0))

    async def call() -> bool:
        return True

    results = await asyncio.gather(
        *[limiter.process_request(call, (), {}, "answerCallbackQuery", {}, None) for _ in range(50)]
    )
    assert all(results)


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_chat_state_lives_only_while_it_constrains_a_request() -> None:
    clock = ManualClock()
    limiter = TelegramRateLimiter(RateLimits(enabled=True, safety=0.0), clock=clock)
    rec = Recorder(1000.0)  # the fake's limits are real-time; this test's clock is not

    async def send(chat_id: int) -> None:
        await limiter.process_request(
            rec.callback("x", chat_id),
            (),
            {},
            "sendMessage",
            {"chat_id": chat_id, "allow_paid_broadcast": True},
            SendTicket(),
        )

    rec.flood = FloodLimiter(FloodLimits(enabled=False))
    for chat_id in range(1, 201):
        clock.now += 0.01  # the paid lane: one slot every millisecond
        await send(chat_id)
    # Sent within the last 2 s: every private chat's 1 s spacing may still apply to some.
    assert 0 < limiter.tracked_chats <= 200
    clock.now += 1.5
    await send(-5)  # a group: its 60 s window keeps its state for a minute
    # The private chats' spacing is over: their state is gone, only the group's is left.
    assert limiter.tracked_chats == 1
    clock.now += 30
    await send(9)
    assert limiter.tracked_chats == 2  # the group (window still open) and chat 9
    clock.now += 31
    await send(10)
    assert limiter.tracked_chats == 1  # only chat 10: the group's minute has passed
    await limiter.shutdown()


async def test_a_chat_whose_state_expired_is_still_spaced_correctly() -> None:
    limiter = TelegramRateLimiter(RateLimits(time_scale=20.0))
    rec = Recorder(20.0)
    # Two requests for one chat with thousands of other chats in between: the recorder checks
    # every request against the fake server's flood limits (asserting none is exceeded).
    await _send(limiter, rec, "first", 42, True)
    await asyncio.gather(*(_send(limiter, rec, f"o{i}", 5000 + i, True) for i in range(60)))
    await _send(limiter, rec, "second", 42, True)
    assert limiter.tracked_chats < 62
    await limiter.shutdown()


async def test_the_overall_rate_can_change_to_an_instances_share() -> None:
    limiter = TelegramRateLimiter(RateLimits(time_scale=10.0))  # 300/s
    assert limiter.overall_per_second == pytest.approx(30.0)
    limiter.set_overall_rate(5.0)  # 50/s scaled: a webhook instance's share of the replies
    assert limiter.overall_per_second == pytest.approx(5.0)
    rec = Recorder(10.0)
    started = time.monotonic()
    await asyncio.gather(*(_send(limiter, rec, f"r{i}", 100 + i, False) for i in range(11)))
    elapsed = time.monotonic() - started
    await limiter.shutdown()
    # Eleven grants are ten intervals of 1/50 s apart: at least 0.2 s (300/s would take 0.03).
    assert elapsed >= 0.2


async def test_a_sending_commit_never_lets_a_request_leave_before_its_window() -> None:
    # Slots are granted about one ``before_send`` early (the broadcaster's ``sending`` commit
    # runs meanwhile); the request itself must still wait for its window. Commits here are
    # sometimes slow (the request 30 back then reached the server late) and mostly instant, so
    # an instant one is ready before its window opens.
    limiter = TelegramRateLimiter(RateLimits(time_scale=10.0, safety=0.0))  # 30 per 100 ms
    rec = Recorder(10.0)  # asserts the fake's window at every request, as the server sees it
    marked: dict[str, float] = {}

    async def send(i: int) -> Any:
        label = f"b{i}"

        async def commit() -> None:
            if i % 7 == 0:
                await asyncio.sleep(0.006)
            marked[label] = time.monotonic()

        ticket = SendTicket(before_send=commit)
        return await limiter.process_request(
            rec.callback(label, 1000 + i), (), {}, "sendMessage", {"chat_id": 1000 + i}, ticket
        )

    assert all(await asyncio.gather(*(send(i) for i in range(150))))
    await limiter.shutdown()
    assert len(rec.calls) == 150
    # Each request left after its own commit, never before.
    assert all(marked[label] <= at for label, at in rec.calls)
