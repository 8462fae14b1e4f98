"""The fake Telegram server behaves like Telegram for a real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import pytest_asyncio
import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)
from telegram.request import HTTPXRequest

from bot.emulator import (
    FakeEvent,
    FakeTelegram,
    FakeTelegramServer,
    FloodLimiter,
    parse_html,
)

pytestmark = pytest.mark.asyncio

TOKEN = "123456789:TEST-fake-telegram-token"


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(TOKEN, bot_username="digest_test_bot")


@pytest_asyncio.fixture
async def server(fake: FakeTelegram) -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(fake) as srv:
        yield srv


def make_bot(server: FakeTelegramServer, read_timeout: float = 5.0) -> Bot:
    return Bot(
        TOKEN,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=2.0),
    )


@pytest_asyncio.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with make_bot(server) as client:
        yield client


# --------------------------------------------------------------------------- Bot API basics


async def test_get_me_and_request_log(bot: Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.is_bot
    assert me.username == "digest_test_bot"
    assert [r.method for r in fake.requests_for("getMe")] == ["getMe", "getMe"]
    assert all(r.status == 200 for r in fake.requests)


async def test_unknown_method_wrong_token_and_json_bodies(
    server: FakeTelegramServer, fake: FakeTelegram
) -> None:
    user = fake.create_user("Ann")
    async with httpx.AsyncClient() as client:
        missing = await client.post(f"{server.api_url}/noSuchMethod")
        assert missing.status_code == 404
        assert missing.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
        wrong = await client.get(f"{server.base_url}123456789:WRONG/getMe")
        assert wrong.status_code == 401
        assert wrong.json()["description"] == "Unauthorized"
        # JSON body with typed values, case-insensitive method name.
        sent = await client.post(
            f"{server.api_url}/SENDMESSAGE",
            json={"chat_id": user.id, "text": "<b>hi</b>", "parse_mode": "HTML"},
        )
        assert sent.json()["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
        # Query-string GET.
        got = await client.get(f"{server.api_url}/getChat", params={"chat_id": str(user.id)})
        assert got.json()["result"]["first_name"] == "Ann"


async def test_html_entities_in_utf16(bot: Bot, fake: FakeTelegram) -> None:
    user = fake.create_user("Ann")
    html = (
        '👋 <b>你好</b> <i>wörld</i> <a href="https://example.com">link</a>\n'
        '<pre><code class="language-python">x = 1 &lt; 2</code></pre> &amp; '
        "<tg-spoiler>s</tg-spoiler> <blockquote expandable>q</blockquote>"
    )
    message = await bot.send_message(user.id, html, parse_mode=ParseMode.HTML)
    assert message.text == "👋 你好 wörld link\nx = 1 < 2 & s q"
    got = [(e.type, e.offset, e.length) for e in message.entities]
    assert got == [
        ("bold", 3, 2),  # "👋" is two UTF-16 code units
        ("italic", 6, 5),
        ("text_link", 12, 4),
        ("pre", 17, 9),
        ("spoiler", 29, 1),
        ("expandable_blockquote", 31, 1),
    ]
    assert message.entities[2].url == "https://example.com/"
    assert message.entities[3].language == "python"
    assert message.parse_entity(message.entities[0]) == "你好"
    assert message.parse_entity(message.entities[3]) == "x = 1 < 2"
    stored = fake.bot_messages(user)[-1]
    assert stored.entity_text(stored.entities[1]) == "wörld"


async def test_auto_detected_entities_and_trimming() -> None:
    fake = FakeTelegram(TOKEN)
    text, entities = fake.format_text(
        "  see https://example.com/x. or /help @someone \n", None, None
    )
    assert text == "see https://example.com/x. or /help @someone"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("url", 4, 21),
        ("bot_command", 30, 5),
        ("mention", 36, 8),
    ]


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("AT&T", "Unsupported HTML entity at byte offset 2"),
        ("</b>", "Unexpected end tag at byte offset 0"),
    ],
)
async def test_invalid_html_is_rejected(
    bot: Bot, fake: FakeTelegram, html: str, error: str
) -> None:
    user = fake.create_user()
    with pytest.raises(BadRequest, match="Can't parse entities") as caught:
        await bot.send_message(user.id, html, parse_mode=ParseMode.HTML)
    assert error.lower() in str(caught.value).lower()
    assert fake.bot_messages(user) == []
    assert fake.requests[-1].status == 400


async def test_parse_html_is_lenient_about_ampersand_when_asked() -> None:
    assert parse_html("AT&T &lt", strict_ampersand=False) == ("AT&T <", [])


async def test_text_length_and_emptiness(bot: Bot, fake: FakeTelegram) -> None:
    user = fake.create_user()
    await bot.send_message(user.id, "😀" * 2048)  # exactly 4096 UTF-16 code units
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(user.id, "😀" * 2048 + "x")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(user.id, "<b> </b>", parse_mode=ParseMode.HTML)


async def test_inline_keyboard_validation(bot: Bot, fake: FakeTelegram) -> None:
    user = fake.create_user()
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("é", callback_data="é" * 32)]])
    await bot.send_message(user.id, "ok", reply_markup=ok)  # 64 bytes of UTF-8
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="a" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(user.id, "x", reply_markup=too_long)
    bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("x", url="javascript:alert(1)")]])
    with pytest.raises(BadRequest, match=r"(?i)button_url_invalid"):
        await bot.send_message(user.id, "x", reply_markup=bad_url)
    wide = InlineKeyboardMarkup(
        [[InlineKeyboardButton(str(i), callback_data=str(i)) for i in range(9)]]
    )
    with pytest.raises(BadRequest, match=r"(?i)too many buttons in a row"):
        await bot.send_message(user.id, "x", reply_markup=wide)
    many = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(str(r), callback_data=f"{r}-{c}") for c in range(8)]
            for r in range(13)
        ]
    )
    with pytest.raises(BadRequest, match=r"(?i)reply_markup_too_long"):
        await bot.send_message(user.id, "x", reply_markup=many)
    text_only = InlineKeyboardMarkup([[InlineKeyboardButton("x")]])
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot.send_message(user.id, "x", reply_markup=text_only)
    assert [m.text for m in fake.bot_messages(user)] == ["ok"]


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


async def test_commands_per_scope_and_language(bot: Bot, fake: FakeTelegram) -> None:
    await bot.set_my_commands([("start", "Start"), ("digest", "Digest")])
    await bot.set_my_commands([("start", "Старт")], language_code="ru")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "digest"]
    assert fake.commands_for("ru") == [{"command": "start", "description": "Старт"}]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("Bad-Name", "x")])
    await bot.delete_my_commands(language_code="ru")
    assert fake.commands_for("ru") == []


# --------------------------------------------------------------------------- flood limits, faults


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


# --------------------------------------------------------------------------- updates, users


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


async def test_server_refuses_non_loopback_hosts(fake: FakeTelegram) -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        FakeTelegramServer(fake, host="0.0.0.0")
    FakeTelegramServer(fake, host="::1")
    FakeTelegramServer(fake, host="0.0.0.0", allow_non_loopback=True)


# --------------------------------------------------------------------------- a full PTB app


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


# --------------------------------------------------------------------------- webhooks


class _Receiver:
    """A webhook endpoint on loopback: records every POST, answers with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])  # answered in turn, then 200
        self.requests: list[tuple[dict[str, object], dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.gate: asyncio.Event | None = None  # when set up, the first POST waits for it
        self.arrived = asyncio.Event()  # set on the first POST
        self.server: tornado.httpserver.HTTPServer | None = None
        self.port = 0

    def url(self, path: str = "hook") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def __aenter__(self) -> _Receiver:
        receiver = self

        class Handler(tornado.web.RequestHandler):
            async def post(self) -> None:
                receiver.in_flight += 1
                receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                receiver.arrived.set()
                try:
                    if receiver.gate is not None and not receiver.requests:
                        receiver.requests.append((json.loads(self.request.body), {}))
                        await receiver.gate.wait()
                        receiver.requests.pop()
                    headers = {k.lower(): v for k, v in self.request.headers.items()}
                    receiver.requests.append((json.loads(self.request.body), headers))
                    self.set_status(receiver.statuses.pop(0) if receiver.statuses else 200)
                    self.finish()
                finally:
                    receiver.in_flight -= 1

        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        self.port = sockets[0].getsockname()[1]
        self.server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/hook", Handler)]))
        self.server.add_sockets(sockets)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.stop()
        await self.server.close_all_connections()

    def update_ids(self) -> list[int]:
        return [int(str(body["update_id"])) for body, _ in self.requests]


@asynccontextmanager
async def _hooked(
    **options: object,
) -> AsyncIterator[tuple[FakeTelegram, Bot]]:
    fake = FakeTelegram(TOKEN, **options)  # type: ignore[arg-type]
    async with FakeTelegramServer(fake) as srv, make_bot(srv) as client:
        yield fake, client


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_pushes_updates_in_order_one_at_a_time_with_the_secret() -> None:
    async with _Receiver() as receiver, _hooked() as (fake, bot):
        assert await bot.set_webhook(receiver.url(), secret_token="s3cret_-X")
        info = await bot.get_webhook_info()
        assert info.url == receiver.url() and info.pending_update_count == 0

        # The first POST is held: the next updates wait behind it, still pending.
        receiver.gate = asyncio.Event()
        ann = fake.create_user("Ann")
        await fake.send_text(ann, ann, "one")
        await asyncio.wait_for(receiver.arrived.wait(), 5)
        await fake.send_text(ann, ann, "two")
        await fake.send_text(ann, ann, "three")
        assert (await bot.get_webhook_info()).pending_update_count == 3
        receiver.gate.set()
        await fake.wait_for(lambda: not fake.pending_updates)

        texts = [body["message"]["text"] for body, _ in receiver.requests]  # type: ignore[index]
        assert texts == ["one", "two", "three"]
        assert receiver.update_ids() == sorted(receiver.update_ids())
        assert receiver.max_in_flight == 1
        for _, headers in receiver.requests:
            assert headers["x-telegram-bot-api-secret-token"] == "s3cret_-X"
            assert headers["content-type"].startswith("application/json")
        assert all(a.delivered for a in fake.webhook_attempts)
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0 and info.last_error_message is None


async def test_webhook_without_secret_sends_no_secret_header() -> None:
    async with _Receiver() as receiver, _hooked() as (fake, bot):
        await bot.set_webhook(receiver.url())
        ann = fake.create_user("Ann")
        await fake.send_text(ann, ann, "hi")
        await fake.wait_for(lambda: not fake.pending_updates)
        assert "x-telegram-bot-api-secret-token" not in receiver.requests[0][1]


async def test_webhook_retries_a_failed_post_with_backoff_keeping_order() -> None:
    async with (
        _Receiver(statuses=[500, 502]) as receiver,
        _hooked(webhook_retry_delay=0.02) as (fake, bot),
    ):
        await bot.set_webhook(receiver.url(), secret_token="s")
        ann = fake.create_user("Ann")
        await fake.send_text(ann, ann, "first")
        await fake.send_text(ann, ann, "second")
        await fake.wait_for(lambda: not fake.pending_updates)

        first, second = (u["update_id"] for u in fake.updates_log)
        assert receiver.update_ids() == [first, first, first, second]
        attempts = fake.webhook_attempts
        assert [(a.update_id, a.attempt, a.status) for a in attempts] == [
            (first, 1, 500),
            (first, 2, 502),
            (first, 3, 200),
            (second, 1, 200),
        ]
        # Doubling backoff between attempts of one update.
        assert (attempts[1].at - attempts[0].at).total_seconds() >= 0.02
        assert (attempts[2].at - attempts[1].at).total_seconds() >= 0.04
        assert receiver.max_in_flight == 1
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0
        assert info.last_error_message == "Wrong response from the webhook: 502 Bad Gateway"
        assert info.last_error_date is not None
        assert not fake.webhook_dropped


async def test_webhook_gives_up_after_bounded_attempts_then_delivers_the_next() -> None:
    async with (
        _Receiver(statuses=[503, 503, 503]) as receiver,
        _hooked(webhook_max_attempts=3, webhook_retry_delay=0.01) as (fake, bot),
    ):
        await bot.set_webhook(receiver.url())
        ann = fake.create_user("Ann")
        await fake.send_text(ann, ann, "lost")
        await fake.send_text(ann, ann, "delivered")
        await fake.wait_for(lambda: not fake.pending_updates)
        lost, delivered = (u["update_id"] for u in fake.updates_log)
        assert receiver.update_ids() == [lost, lost, lost, delivered]
        assert [u["update_id"] for u in fake.webhook_dropped] == [lost]
        info = await bot.get_webhook_info()
        assert info.last_error_message == "Wrong response from the webhook: 503 Service Unavailable"


async def test_webhook_nobody_listening_is_reported_and_the_update_stays_pending() -> None:
    async with _hooked(webhook_max_attempts=100, webhook_retry_delay=0.01) as (fake, bot):
        url = f"http://127.0.0.1:{_free_port()}/hook"
        await bot.set_webhook(url)
        ann = fake.create_user("Ann")
        await fake.send_text(ann, ann, "anyone?")
        await fake.wait_for(lambda: len(fake.webhook_attempts) >= 2)
        info = await bot.get_webhook_info()
        assert info.url == url
        assert info.pending_update_count == 1
        assert info.last_error_message == "Connection refused"
        # Deleting the webhook hands the undelivered update to getUpdates.
        assert await bot.delete_webhook()
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates if u.message] == ["anyone?"]
        info = await bot.get_webhook_info()
        assert info.url == "" and info.last_error_message is None


async def test_get_updates_conflicts_while_a_webhook_is_set_and_delete_webhook_queues_again() -> (
    None
):
    async with _Receiver() as receiver, _hooked() as (fake, bot):
        await bot.set_webhook(receiver.url())
        with pytest.raises(Conflict) as conflict:
            await bot.get_updates(timeout=0)
        assert str(conflict.value) == (
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
            "to delete the webhook first"
        )
        async with httpx.AsyncClient(trust_env=False) as client:
            raw = await client.post(f"{bot.base_url}/getUpdates", timeout=5)
        assert raw.status_code == 409 and raw.json()["error_code"] == 409

        ann = fake.create_user("Ann")
        await fake.send_text(ann, ann, "pushed")
        await fake.wait_for(lambda: not fake.pending_updates)
        await bot.delete_webhook()
        await fake.send_text(ann, ann, "queued")
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates if u.message] == ["queued"]
        assert len(receiver.requests) == 1
        assert (await bot.get_webhook_info()).url == ""


async def test_set_webhook_accepts_only_loopback_urls_unless_allowed() -> None:
    async with _hooked() as (fake, bot):
        for url in (
            "https://example.com/hook",
            "https://10.0.0.1/hook",
            "https://[2001:db8::1]:8443/hook",
        ):
            with pytest.raises(
                BadRequest, match=r"(?i)bad webhook: the emulator only delivers to "
            ):
                await bot.set_webhook(url)
        with pytest.raises(BadRequest, match=r"(?i)bad webhook: An HTTPS URL must be provided"):
            await bot.set_webhook("ftp://127.0.0.1/hook")
        with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
            await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="no spaces")
        with pytest.raises(BadRequest, match=r"(?i)secret token is too long"):
            await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="x" * 257)
        assert fake.webhook_url == ""
        async with httpx.AsyncClient(trust_env=False) as client:
            raw = await client.post(
                f"{bot.base_url}/setWebhook", json={"url": "https://example.com/hook"}, timeout=5
            )
        assert raw.status_code == 400
        assert raw.json()["description"].startswith("Bad Request: bad webhook: ")

    async with _hooked(allow_non_loopback_webhooks=True) as (fake, bot):
        assert await bot.set_webhook("https://example.com/hook", secret_token="x" * 256)
        assert fake.webhook_url == "https://example.com/hook"
        with pytest.raises(BadRequest, match=r"(?i)an https url must be provided"):
            await bot.set_webhook("http://example.com/hook")
        # Nothing is pushed without updates: no request leaves for example.com.
        assert fake.webhook_attempts == []
        await bot.delete_webhook()
