"""The issue's acceptance path: /timezone Asia/Shanghai, /time two minutes ahead, exactly one
digest at that minute, none again after a restart — through the real app and its planner."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.delivery.planner import SERVICE_KEY, DeliveryService
from bot.emulator import FakeTelegram
from tests.factories import deliveries_for_chat
from tests.harness import SAMPLE_NOW, Clock, Harness, running_bot


def _service(bot: Harness) -> DeliveryService:
    service = bot.app.bot_data[SERVICE_KEY]
    assert isinstance(service, DeliveryService)
    return service


def _deliveries(engine: Engine, chat_id: int) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = deliveries_for_chat(session=session, chat_id=chat_id)
    return [(str(row.local_date), row.state) for row in rows]


async def test_digest_arrives_once_at_local_time_and_not_again_after_restart(
    settings: Settings, sample_engine: Engine
) -> None:
    fake = FakeTelegram()
    clock = Clock(SAMPLE_NOW)  # 10:00 in Shanghai
    li = fake.create_user("李雷", language_code="zh-hans")
    async with running_bot(settings, sample_engine, fake=fake, clock=clock) as bot:
        await bot.command(li, li, "/timezone Asia/Shanghai")
        await bot.command(li, li, "/time 10:02")
        await bot.command(li, li, "/subscribe")
        before = len(fake.bot_messages(li))
        clock.now = SAMPLE_NOW + timedelta(minutes=1)
        await _service(bot).tick()
        # Planned ahead (due within two planner intervals), but not sent before its minute.
        assert _service(bot).last_plan is not None and _service(bot).last_plan.planned == 1
        assert _deliveries(sample_engine, li.id) == [("2026-11-25", "pending")]
        assert len(fake.bot_messages(li)) == before
        clock.now = SAMPLE_NOW + timedelta(minutes=2)
        await _service(bot).tick()
        assert _service(bot).last_plan is not None and _service(bot).last_plan.planned == 0
        digest = await fake.next_bot_message(li, timeout=10)
        assert (digest.text or "").startswith("📰")
        assert "11月25日" in (digest.text or "")
        assert any(b["text"].startswith("📖") for b in digest.buttons)
        clock.now = SAMPLE_NOW + timedelta(minutes=3)
        await _service(bot).tick()
        assert _service(bot).last_plan is not None and _service(bot).last_plan.planned == 0
        after_first = len(fake.bot_messages(li))
        assert after_first == before + 1
    # Restart: a new Application on the same database and the same Telegram.
    async with running_bot(settings, sample_engine, fake=fake, clock=clock) as bot:
        clock.now = SAMPLE_NOW + timedelta(minutes=4)
        await _service(bot).tick()
        await _service(bot).tick()
        # One row, sent: nothing is pending, so nothing more can go out.
        assert _deliveries(sample_engine, li.id) == [("2026-11-25", "sent")]
        assert len(fake.bot_messages(li)) == after_first


async def test_a_digest_planned_ahead_leaves_at_its_minute_without_another_tick(
    settings: Settings, sample_engine: Engine
) -> None:
    fake = FakeTelegram()
    clock = Clock(SAMPLE_NOW)  # 10:00 in Shanghai
    li = fake.create_user("李雷", language_code="zh-hans")
    async with running_bot(settings, sample_engine, fake=fake, clock=clock) as bot:
        await bot.command(li, li, "/timezone Asia/Shanghai")
        await bot.command(li, li, "/time 10:01")
        await bot.command(li, li, "/subscribe")
        before = len(fake.bot_messages(li))
        clock.now = SAMPLE_NOW + timedelta(seconds=59)
        await _service(bot).tick()
        assert _service(bot).last_plan is not None and _service(bot).last_plan.planned == 1
        # The sender now sleeps until the row's due time (one second on its clock); the clock
        # reaches it meanwhile, and no planner tick comes to wake it.
        clock.now = SAMPLE_NOW + timedelta(minutes=1)
        digest = await fake.next_bot_message(li, timeout=10)
        assert (digest.text or "").startswith("📰")
        assert len(fake.bot_messages(li)) == before + 1
    assert _deliveries(sample_engine, li.id) == [("2026-11-25", "sent")]
