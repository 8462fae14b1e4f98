"""Flood limits and injected faults."""

from __future__ import annotations

import pytest
from telegram.error import (
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.emulator import (
    FakeTelegram,
    FakeTelegramServer,
    FloodLimiter,
)
from tests.bot.emulator.support import TOKEN, make_bot

pytestmark = pytest.mark.asyncio


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter
async def test_flood_limit_raises_retry_after_and_records_penalty_violations(
    server: FakeTelegramServer,
) -> None:
    now = [1000.0]
    fake = server.fake
    fake.flood = FloodLimiter(clock=lambda: now[0])
    fake.flood.configure(enabled=True, per_chat_per_second=1)
    user = fake.create_user()
    async with make_bot(server) as bot:
        await bot.send_message(user.id, "first")
        with pytest.raises(RetryAfter):
            await bot.send_message(user.id, "too fast")
        assert [(e.scope, e.retry_after) for e in fake.flood.rejections] == [("chat", 1)]
        assert fake.requests[-1].description == "Too Many Requests: retry after 1"
        assert fake.flood.penalty_violations == []
        with pytest.raises(RetryAfter):
            await bot.send_message(user.id, "still during the penalty")
        assert len(fake.flood.penalty_violations) == 1
        await bot.get_me()  # not a sending method: never limited
        now[0] += 1.0
        await bot.send_message(user.id, "after waiting")
    assert [m.text for m in fake.bot_messages(user)] == ["first", "after waiting"]
    raw = [r for r in fake.requests if r.status == 429]
    assert len(raw) == 2


async def test_flood_time_scale_and_group_limit() -> None:
    now = [0.0]
    limiter = FloodLimiter(clock=lambda: now[0])
    limiter.configure(enabled=True, time_scale=10, per_group_per_minute=20)
    assert limiter.check("sendMessage", 7, False) is None
    limiter.record_sent(7, False)
    now[0] += 0.1  # at scale 10 one message per chat per 0.1 s
    assert limiter.check("sendMessage", 7, False) is None
    limiter.record_sent(7, False)
    now[0] += 0.05
    rejected = limiter.check("sendMessage", 7, False)
    assert rejected is not None and rejected.scope == "chat"
    for i in range(20):  # 20 per 6 s in a group at scale 10
        now[0] = 100.0 + i * 0.2
        assert limiter.check("sendMessage", -5, True) is None
        limiter.record_sent(-5, True)
    now[0] = 104.5
    group = limiter.check("sendMessage", -5, True)
    assert group is not None and group.scope == "group"
    assert not limiter.counts("getUpdates")
    assert not limiter.counts("answerCallbackQuery")


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter
async def test_injected_faults(server: FakeTelegramServer, fake: FakeTelegram) -> None:
    user = fake.create_user()
    async with make_bot(server, read_timeout=0.3) as bot:
        fake.faults.hang_next("sendMessage")
        with pytest.raises(TimedOut):
            await bot.send_message(user.id, "hung")
        fake.faults.drop_next("sendMessage")
        with pytest.raises(NetworkError):
            await bot.send_message(user.id, "dropped")
        # Both requests were applied although the client never saw an answer.
        assert [m.text for m in fake.bot_messages(user)] == ["hung", "dropped"]

        fake.faults.fail_next("sendMessage", status=502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(user.id, "lost")
        fake.faults.fail_next("sendMessage", status=429, retry_after=3)
        with pytest.raises(RetryAfter):
            await bot.send_message(user.id, "limited")
        assert fake.requests[-1].description == "Too Many Requests: retry after 3"
        assert fake.flood.penalty_active(user.id)
        assert [m.text for m in fake.bot_messages(user)] == ["hung", "dropped"]
        assert [r.fault for r in fake.requests_for("sendMessage")] == [
            "hang",
            "drop",
            "server_error",
            "retry_after",
        ]


async def test_seeded_random_faults_are_reproducible() -> None:
    def run() -> list[int]:
        fake = FakeTelegram(TOKEN)
        fake.faults.configure(seed=42, server_error_probability=0.3, retry_after_probability=0.2)
        return [fake.faults.before("sendMessage").status or 200 for _ in range(50)]

    first = run()
    assert first == run()
    assert {200, 429} <= set(first)
    assert set(first) & {500, 502}
