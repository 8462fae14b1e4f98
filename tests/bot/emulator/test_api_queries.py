"""Callback query and inline query answers."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
)

from bot.emulator import (
    FakeTelegram,
)

pytestmark = pytest.mark.asyncio


async def test_callback_and_inline_answers(bot: Bot, fake: FakeTelegram) -> None:
    user = fake.create_user()
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more")]])
    sent = await bot.send_message(user.id, "pick", reply_markup=keyboard)
    with pytest.raises(ValueError, match="no button"):
        await fake.press_button(user, sent.message_id, "other", user)
    query_id = await fake.press_button(user, sent.message_id, "more", user)
    assert fake.pending_updates[-1]["callback_query"]["data"] == "more"
    await bot.answer_callback_query(query_id, text="Done", show_alert=True)
    record = await fake.wait_for_callback_answer(query_id)
    assert (record.text, record.show_alert) == ("Done", True)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)

    inline_id = await fake.inline_query(user, "ai news", chat_type="private")

    def article(result_id: str, text: str) -> InlineQueryResultArticle:
        content = InputTextMessageContent(text, parse_mode=ParseMode.HTML)
        return InlineQueryResultArticle(result_id, "Title", content)

    with pytest.raises(BadRequest, match=r"(?i)result_id_duplicate"):
        await bot.answer_inline_query(inline_id, [article("1", "a"), article("1", "b")])
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.answer_inline_query(inline_id, [article("1", "<b>x")])
    with pytest.raises(BadRequest, match=r"(?i)result_id_invalid"):
        await bot.answer_inline_query(inline_id, [article("x" * 65, "a")])
    await bot.answer_inline_query(inline_id, [article("r1", "<b>AI</b> news")])
    answer = await fake.wait_for_inline_answer(inline_id)
    content = answer.results[0]["input_message_content"]
    assert content["message_text"] == "AI news"
    assert content["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    await fake.chosen_inline_result(user, "r1", inline_query_id=inline_id)
    assert fake.pending_updates[-1]["chosen_inline_result"]["query"] == "ai news"
