"""Listeners and waiting for the bot."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
)

from bot.emulator import (
    FakeEvent,
    FakeTelegram,
)

pytestmark = pytest.mark.asyncio


async def test_listener_and_wait_for_timeout(bot: Bot, fake: FakeTelegram) -> None:
    user = fake.create_user()
    seen: list[tuple[str, str | None]] = []

    async def listener(event: FakeEvent) -> None:
        seen.append((event.kind, event.message.text if event.message else None))

    unsubscribe = fake.add_listener(listener)
    sent = await bot.send_message(user.id, "a")
    await bot.edit_message_text("b", chat_id=user.id, message_id=sent.message_id)
    unsubscribe()
    await bot.send_message(user.id, "c")
    assert seen == [
        ("message", "a"),
        ("edit", "b"),
    ]
    assert len(await fake.wait_for(2, chat=user, timeout=1)) == 2
    with pytest.raises(TimeoutError, match="3 bot message"):
        await fake.wait_for(3, chat=user, timeout=0.05)
