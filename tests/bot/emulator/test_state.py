"""The whole fake against a real PTB Application and PTB's deserialisation."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from bot.emulator import (
    FakeTelegram,
    FakeTelegramServer,
)
from tests.bot.emulator.support import TOKEN

pytestmark = pytest.mark.asyncio


async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    name = update.effective_user.first_name if update.effective_user else "?"
    args = " ".join(context.args or [])
    await update.effective_message.reply_html(
        f"Hello, <b>{name}</b>! {args}".strip(),
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more")]]),
    )


async def more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Loading")
    await query.edit_message_text("Here is more")


async def test_full_application_polling(server: FakeTelegramServer, fake: FakeTelegram) -> None:
    app: Application = (  # type: ignore[type-arg]
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start_command))
    app.add_handler(CallbackQueryHandler(more_button, pattern="^more$"))
    ann = fake.create_user("Ann")
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        await fake.start_bot(ann, "from-test")
        reply = await fake.next_bot_message(ann)
        assert reply.text == "Hello, Ann! from-test"
        assert reply.entities == [{"type": "bold", "offset": 7, "length": 3}]

        query_id = await fake.press_button(ann, reply.message_id, "more", ann)
        answer = await fake.wait_for_callback_answer(query_id)
        assert answer.text == "Loading"
        await fake.wait_for(lambda: reply.text == "Here is more")
        assert reply.inline_keyboard == []  # the edit dropped the keyboard
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert not [r for r in fake.requests if r.status >= 500]


async def test_ptb_deserialises_chats_members_and_updates(bot: Bot, fake: FakeTelegram) -> None:
    owner = fake.create_user("Owner", username="owner")
    admin = fake.create_user("Admin")
    member = fake.create_user("Member")
    group = fake.create_group(
        "Readers", creator=owner, admins=[admin], members=[member], bot_status="left"
    )
    await fake.add_bot_to_group(group, owner, as_admin=True)
    chat = await bot.get_chat(group.id)
    assert (chat.type, chat.title) == ("group", "Readers")
    private = await bot.get_chat(owner.id)
    assert private.username == "owner"
    assert (await bot.get_chat_member(group.id, admin.id)).status == "administrator"
    assert (await bot.get_chat_member(group.id, member.id)).status == "member"
    admins = await bot.get_chat_administrators(group.id)
    assert {m.user.id for m in admins} == {owner.id, admin.id, fake.bot_id}
    assert await bot.get_chat_member_count(group.id) == 4
    assert await bot.send_chat_action(group.id, "typing")
    assert await bot.set_chat_menu_button()

    await fake.send_text(group, member, "hello @digest_test_bot")
    sent = await bot.send_message(
        group.id,
        "pick",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
    )
    await fake.press_button(group, sent.message_id, "a", member)
    query_id = await fake.inline_query(member, "q", chat_type="group")
    await fake.chosen_inline_result(member, "r", "q")
    new_id = await fake.migrate_group(group)
    await fake.block_bot(member)

    updates = await bot.get_updates(timeout=0)
    kinds = [
        next(
            k
            for k in (
                "my_chat_member",
                "message",
                "callback_query",
                "inline_query",
                "chosen_inline_result",
            )
            if getattr(u, k) is not None
        )
        for u in updates
    ]
    assert kinds == [
        "my_chat_member",
        "message",  # new_chat_members
        "message",  # the mention
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "message",  # migrate_to_chat_id
        "message",  # migrate_from_chat_id
        "my_chat_member",  # blocked in private
    ]
    assert updates[0].my_chat_member is not None
    assert updates[0].my_chat_member.new_chat_member.status == "administrator"
    assert updates[1].message is not None and updates[1].message.new_chat_members
    assert updates[3].callback_query is not None and updates[3].callback_query.data == "a"
    assert updates[4].inline_query is not None and updates[4].inline_query.id == query_id
    assert updates[6].message is not None and updates[6].message.migrate_to_chat_id == new_id
    assert updates[7].message is not None and updates[7].message.migrate_from_chat_id == group.id
    assert updates[8].my_chat_member is not None
    assert updates[8].my_chat_member.new_chat_member.status == "kicked"
