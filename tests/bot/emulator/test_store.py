"""Chat lookup errors: unknown, blocked, deactivated, kicked, migrated."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
)

from bot.emulator import (
    FakeTelegram,
)

pytestmark = pytest.mark.asyncio


async def test_chat_errors(bot: Bot, fake: FakeTelegram) -> None:
    ann = fake.create_user("Ann")
    bob = fake.create_user("Bob")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hi")
    await fake.block_bot(ann)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ann.id, "hi")
    await fake.deactivate_user(bob)
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_message(bob.id, "hi")
    group = fake.create_group("G", members=[ann], creator=bob)
    await fake.remove_bot_from_group(group, bob)
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.send_message(group.id, "hi")


async def test_migrated_group_raises_chat_migrated(bot: Bot, fake: FakeTelegram) -> None:
    owner = fake.create_user("Owner")
    group = fake.create_group("Digest fans", creator=owner)
    new_id = await fake.migrate_group(group)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(group.id, "hello")
    assert caught.value.new_chat_id == new_id
    message = await bot.send_message(new_id, "hello")
    assert message.chat.type == "supergroup"
    assert message.chat.id == new_id
