"""getUpdates: long polling and offsets."""

from __future__ import annotations

import asyncio

import pytest

from bot.emulator import (
    FakeTelegram,
    FakeTelegramServer,
)
from tests.bot.emulator.support import make_bot

pytestmark = pytest.mark.asyncio


async def test_long_polling_and_offsets(server: FakeTelegramServer, fake: FakeTelegram) -> None:
    user = fake.create_user("Ann")
    async with make_bot(server) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await fake.wait_for(lambda: fake.long_polls_waiting)
        await fake.send_text(user, user, "/start promo")
        updates = await asyncio.wait_for(poll, 2)
        assert len(updates) == 1
        message = updates[0].message
        assert message is not None
        assert message.text == "/start promo"
        assert message.entities[0].type == "bot_command"
        assert message.entities[0].length == len("/start")
        # Without confirming, the update is returned again; with offset it is gone.
        again = await bot.get_updates(timeout=0)
        assert [u.update_id for u in again] == [updates[0].update_id]
        assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
