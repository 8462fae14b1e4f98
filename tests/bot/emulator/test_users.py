"""The user side: what the bot sees of what users write in groups."""

from __future__ import annotations

import pytest

from bot.emulator import (
    FakeTelegram,
)

pytestmark = pytest.mark.asyncio


async def test_group_privacy_mode(fake: FakeTelegram) -> None:
    ann = fake.create_user("Ann")
    group = fake.create_group("G", members=[ann])
    await fake.send_text(group, ann, "just chatting")
    await fake.send_text(group, ann, "/digest@other_bot")
    assert fake.pending_updates == []
    await fake.send_text(group, ann, "/digest@digest_test_bot")
    await fake.send_text(group, ann, "/help")
    texts = [u["message"]["text"] for u in fake.pending_updates]
    assert texts == ["/digest@digest_test_bot", "/help"]
    await fake.add_bot_to_group(fake.create_group("H", creator=ann, bot_status="left"), ann)
    assert "my_chat_member" in fake.pending_updates[-2]
