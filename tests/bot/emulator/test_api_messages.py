"""sendMessage, edits and deletions."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from telegram.error import (
    BadRequest,
)

from bot.emulator import (
    FakeTelegram,
)

pytestmark = pytest.mark.asyncio


async def test_edit_delete_and_not_modified(bot: Bot, fake: FakeTelegram) -> None:
    user = fake.create_user()
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x")]])
    sent = await bot.send_message(user.id, "one", reply_markup=keyboard)
    await bot.edit_message_text(
        "two", chat_id=user.id, message_id=sent.message_id, reply_markup=keyboard
    )
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "two", chat_id=user.id, message_id=sent.message_id, reply_markup=keyboard
        )
    # Omitting reply_markup removes the keyboard, like Telegram.
    await bot.edit_message_text("two", chat_id=user.id, message_id=sent.message_id)
    stored = fake.get_message(user, sent.message_id)
    assert stored.text == "two"
    assert stored.reply_markup is None
    assert [v.text for v in stored.history] == ["one", "two"]
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=user.id, message_id=999)
    assert await bot.delete_message(user.id, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)
