"""Subscription, language and digest settings, in private chats and groups."""

from __future__ import annotations

from sqlmodel import Session

from storage.models import Chat
from tests.harness import Harness


def _chat(bot: Harness, chat_id: int) -> Chat:
    with Session(bot.deps.engine) as session:
        chat = session.get(Chat, chat_id)
    assert chat is not None
    return chat


async def test_commands_menu_is_published_in_both_languages(bot: Harness) -> None:
    english = {c["command"]: c["description"] for c in bot.fake.commands_for("en")}
    chinese = {c["command"]: c["description"] for c in bot.fake.commands_for("zh")}
    for code in ("en", "zh", ""):  # what people see before Start, within Telegram's limits
        description = bot.fake.description_for(code) or ""
        short = bot.fake.description_for(code, short=True) or ""
        assert 0 < len(description) <= 512 and 0 < len(short) <= 120
    assert "摘要" in (bot.fake.description_for("zh") or "")
    assert {"start", "top", "settings", "language", "help"} <= set(english)
    assert set(english) == set(chinese)
    assert english["top"] != chinese["top"]
    assert bot.fake.commands_for("")  # the default menu for every other language


async def test_subscribe_and_unsubscribe_in_a_private_chat(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    reply = await bot.command(ann, ann, "/subscribe")
    assert "Subscribed" in (reply.text or "") and "08:00" in (reply.text or "")
    chat = _chat(bot, ann.id)
    assert chat.subscribed and chat.next_digest_at is not None
    again = await bot.command(ann, ann, "/subscribe")
    assert "already subscribed" in (again.text or "")
    off = await bot.command(ann, ann, "/unsubscribe")
    assert "Unsubscribed" in (off.text or "")
    assert not _chat(bot, ann.id).subscribed


async def test_language_switch_changes_interface_and_articles(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann", language_code="en")
    picker = await bot.command(ann, ann, "/language")
    assert {"English", "简体中文", "繁體中文"} <= {b["text"].lstrip("✓ ") for b in picker.buttons}
    await bot.press(ann, ann, picker, "简体中文")
    assert _chat(bot, ann.id).language == "zh"
    helped = await bot.command(ann, ann, "/help")
    assert "订阅" in (helped.text or "")
    back = await bot.command(ann, ann, "/language en")
    assert "English" in (back.text or "")
    assert _chat(bot, ann.id).language == "en"


async def test_time_timezone_and_count_validate_their_input(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    bad_time = await bot.command(ann, ann, "/time 25:99")
    assert "25:99" in (bad_time.text or "") and "HH:MM" in (bad_time.text or "")
    bad_zone = await bot.command(ann, ann, "/timezone Mars/Base")
    assert "Mars/Base" in (bad_zone.text or "")
    bad_count = await bot.command(ann, ann, "/count 11")
    assert "1 to 10" in (bad_count.text or "")
    assert (await bot.command(ann, ann, "/time 07:30")).text
    assert (await bot.command(ann, ann, "/timezone Asia/Shanghai")).text
    assert (await bot.command(ann, ann, "/count 3")).text
    chat = _chat(bot, ann.id)
    assert (chat.digest_time, chat.timezone, chat.article_count) == ("07:30", "Asia/Shanghai", 3)
    offset = await bot.command(ann, ann, "/timezone UTC+05:30")
    assert "05:30" in (offset.text or "")
    # Numbers are ASCII digits: "²", "３", "٠٨" get the usual answers, never an error.
    assert "1 to 10" in ((await bot.command(ann, ann, "/count ²")).text or "")
    assert "1 to 10" in ((await bot.command(ann, ann, "/count ３")).text or "")
    assert "HH:MM" in ((await bot.command(ann, ann, "/time ٠٨:٠٠")).text or "")
    assert "UTC+٥" in ((await bot.command(ann, ann, "/timezone UTC+٥")).text or "")


async def test_settings_screen_buttons_edit_in_place(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    screen = await bot.command(ann, ann, "/settings")
    assert "Settings" in (screen.text or "")
    await bot.press(ann, ann, screen, "🔢 Articles")
    picker = bot.fake.get_message(ann, screen.message_id)
    await bot.press(ann, ann, picker, "7")
    assert _chat(bot, ann.id).article_count == 7
    back = bot.fake.get_message(ann, screen.message_id)
    assert "7" in (back.text or "") and len(bot.fake.bot_messages(ann)) == 1
    await bot.press(ann, ann, back, "🌐 Language")
    await bot.press(ann, ann, bot.fake.get_message(ann, screen.message_id), "简体中文")
    assert "设置" in (bot.fake.get_message(ann, screen.message_id).text or "")


async def test_in_groups_only_admins_change_settings(bot: Harness) -> None:
    boss = bot.fake.create_user("Boss")
    guest = bot.fake.create_user("Guest")
    group = bot.fake.create_group("AI club", members=[boss, guest], admins=[boss], creator=boss)
    refused = await bot.command(group, guest, "/subscribe")
    assert "admin" in (refused.text or "")
    assert not _chat(bot, group.id).subscribed
    ok = await bot.command(group, boss, "/subscribe")
    assert "Subscribed" in (ok.text or "")
    assert _chat(bot, group.id).subscribed
    # Anyone may read.
    listing = await bot.command(group, guest, "/top")
    assert "Top stories" in (listing.text or "")
    # A non-admin pressing a settings button gets an alert and nothing changes.
    screen = await bot.command(group, boss, "/settings")
    answer = await bot.press(group, guest, screen, "🔕 Unsubscribe")
    assert answer.show_alert and "admin" in (answer.text or "")
    assert _chat(bot, group.id).subscribed


async def test_group_in_chinese(bot: Harness) -> None:
    boss = bot.fake.create_user("老板", language_code="zh-hans")
    group = bot.fake.create_group("AI 俱乐部", members=[boss], admins=[boss], creator=boss)
    await bot.command(group, boss, "/language zh")
    listing = await bot.command(group, boss, "/latest")
    assert "最新" in (listing.text or "")
