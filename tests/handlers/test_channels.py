"""Channels end to end: an admin adds the bot, sets the digest up in a private chat, the channel
gets exactly one digest at its local time; non-admins and demotions are handled."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from bot.catalog import chats
from bot.config import Settings
from bot.delivery.planner import SERVICE_KEY, DeliveryService
from bot.emulator import FakeChat, FakeMessage, FakeTelegram, FakeUser
from bot.views import callbacks as cb
from tests.harness import SAMPLE_NOW, Clock, Harness, running_bot

# SAMPLE_NOW is 10:00 in Shanghai on 25 November: tomorrow's 08:00 there is 00:00 UTC.
TOMORROW_8_SHANGHAI = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)


def _service(bot: Harness) -> DeliveryService:
    service = bot.app.bot_data[SERVICE_KEY]
    assert isinstance(service, DeliveryService)
    return service


async def _press(bot: Harness, user: FakeUser, message: FakeMessage, data: cb.Callback) -> str:
    """Press the button carrying ``data``; the answer's alert text ("" when none)."""
    query = await bot.fake.press_button(user, message.message_id, cb.encode(data), user)
    answer = await bot.fake.wait_for_callback_answer(query, timeout=10)
    return answer.text or ""


async def _set_up(bot: Harness, boss: FakeUser, channel: FakeChat) -> FakeMessage:
    """Boss adds the bot and, in the private setup message, picks Shanghai, 08:00 and on."""
    await bot.fake.add_bot_to_channel(channel, boss)
    setup = await bot.fake.next_bot_message(boss, timeout=10)
    assert "Set up the daily digest for AI Daily" in (setup.text or "")
    await bot.press(boss, boss, setup, "🕒 Time zone")
    await _press(
        bot,
        boss,
        bot.fake.get_message(boss, setup.message_id),
        cb.ChannelAction(channel.id, "z", "Asia/Shanghai"),
    )
    await bot.press(boss, boss, bot.fake.get_message(boss, setup.message_id), "⏰ Digest time")
    await _press(
        bot,
        boss,
        bot.fake.get_message(boss, setup.message_id),
        cb.ChannelAction(channel.id, "t", "0800"),
    )
    await bot.press(boss, boss, bot.fake.get_message(boss, setup.message_id), "🔔 Turn on")
    return bot.fake.get_message(boss, setup.message_id)


async def test_a_channel_set_up_in_private_gets_one_digest_at_its_local_time(
    settings: Settings, sample_engine: Engine
) -> None:
    fake = FakeTelegram()
    clock = Clock(SAMPLE_NOW)
    boss = fake.create_user("Boss", language_code="en")
    channel = fake.create_channel("AI Daily", creator=boss)
    async with running_bot(settings, sample_engine, fake=fake, clock=clock) as bot:
        await bot.command(boss, boss, "/start")
        screen = await _set_up(bot, boss, channel)
        assert "Daily digest: on" in (screen.text or "")
        assert "08:00" in (screen.text or "") and "Shanghai" in (screen.text or "")
        current = chats.chat_settings(bot.deps, chat_id=channel.id, language="en")
        assert current is not None and current.subscribed
        assert current.next_digest_at == TOMORROW_8_SHANGHAI

        listing = await bot.command(boss, boss, "/channels")
        assert "AI Daily" in (listing.text or "") and "on · 08:00" in (listing.text or "")

        clock.now = TOMORROW_8_SHANGHAI - timedelta(minutes=1)
        await _service(bot).tick()
        assert fake.bot_messages(channel) == []
        clock.now = TOMORROW_8_SHANGHAI
        await _service(bot).tick()
        digest = await fake.next_bot_message(channel, timeout=10)
        assert (digest.text or "").startswith("📰")
        assert digest.buttons and all("url" in b for b in digest.buttons)  # no per-user buttons
        assert f"t.me/{fake.bot.username}?start=a" in digest.buttons[0]["url"]
        clock.now = TOMORROW_8_SHANGHAI + timedelta(minutes=5)
        await _service(bot).tick()
        assert len(fake.bot_messages(channel)) == 1


async def test_only_current_admins_change_a_channel(bot: Harness) -> None:
    boss = bot.fake.create_user("Boss", language_code="en")
    mallory = bot.fake.create_user("Mallory", language_code="en")
    channel = bot.fake.create_channel("AI Daily", creator=boss)
    await bot.command(boss, boss, "/start")
    screen = await _set_up(bot, boss, channel)
    nothing = await bot.command(mallory, mallory, "/channels")
    assert "no channel" in (nothing.text or "") and not nothing.buttons
    # Boss is no longer an administrator: the next change is refused, nothing changes.
    channel.members[boss.id] = "member"
    alert = await _press(bot, boss, screen, cb.ChannelAction(channel.id, "o", "0"))
    assert alert == "Only administrators of AI Daily can change its digest."
    current = chats.chat_settings(bot.deps, chat_id=channel.id, language="en")
    assert current is not None and current.subscribed
    listing = await bot.command(boss, boss, "/channels")
    assert "AI Daily" not in (listing.text or "")


async def test_a_second_admin_who_did_not_add_the_bot_sees_and_changes_the_channel(
    bot: Harness,
) -> None:
    boss = bot.fake.create_user("Boss", language_code="en")
    alice = bot.fake.create_user("Alice", language_code="en")
    mallory = bot.fake.create_user("Mallory", language_code="en")
    channel = bot.fake.create_channel("AI Daily", creator=boss, admins=[alice])
    channel.members[mallory.id] = "member"  # subscribed to the channel, not an administrator
    await bot.command(boss, boss, "/start")
    await _set_up(bot, boss, channel)
    await bot.command(alice, alice, "/start")
    listing = await bot.command(alice, alice, "/channels")
    assert "AI Daily" in (listing.text or "") and "on · 08:00" in (listing.text or "")
    await bot.press(alice, alice, listing, "⚙️ AI Daily")
    screen = bot.fake.get_message(alice, listing.message_id)
    assert "Daily digest: on" in (screen.text or "")
    assert await _press(bot, alice, screen, cb.ChannelAction(channel.id, "o", "0")) == ""
    assert "Daily digest: off" in (bot.fake.get_message(alice, listing.message_id).text or "")
    current = chats.chat_settings(bot.deps, chat_id=channel.id, language="en")
    assert current is not None and not current.subscribed
    # A member who is not an administrator sees no channel and cannot change it.
    await bot.command(mallory, mallory, "/start")
    nothing = await bot.command(mallory, mallory, "/channels")
    assert "no channel" in (nothing.text or "") and not nothing.buttons
    # Alice demoted: gone from her list at once.
    channel.members[alice.id] = "member"
    listing = await bot.command(alice, alice, "/channels")
    assert "AI Daily" not in (listing.text or "")


async def test_a_channel_telegram_cannot_answer_for_is_left_out(bot: Harness) -> None:
    boss = bot.fake.create_user("Boss", language_code="en")
    kept = bot.fake.create_channel("AI Daily", creator=boss)
    gone = bot.fake.create_channel("ML Weekly", creator=boss)
    await bot.command(boss, boss, "/start")
    await _set_up(bot, boss, kept)
    await bot.fake.add_bot_to_channel(gone, boss)
    await bot.fake.next_bot_message(boss, timeout=10)  # ML Weekly's setup message
    gone.bot_status = "kicked"  # removed while the bot was not listening: no update, still active

    def checks() -> list[str]:
        """The channels getChatMember was asked about for Boss."""
        return [
            str(r.params.get("chat_id"))
            for r in bot.fake.requests_for("getChatMember")
            if str(r.params.get("user_id")) == str(boss.id)
        ]

    before = len(checks())
    listing = await bot.command(boss, boss, "/channels")
    assert "AI Daily" in (listing.text or "") and "ML Weekly" not in (listing.text or "")
    assert sorted(checks()[before:]) == sorted([str(kept.id), str(gone.id)])


async def test_demoting_the_bot_stops_the_digest_and_tells_the_admin(bot: Harness) -> None:
    boss = bot.fake.create_user("Boss", language_code="en")
    channel = bot.fake.create_channel("AI Daily", creator=boss)
    await bot.command(boss, boss, "/start")
    await _set_up(bot, boss, channel)
    await bot.fake.set_bot_rights(channel, boss, can_post=False)
    told = await bot.fake.next_bot_message(boss, timeout=10)
    assert "I can no longer post in AI Daily" in (told.text or "")
    current = chats.chat_settings(bot.deps, chat_id=channel.id, language="en")
    assert current is not None
    # Turning it on again is refused while the bot cannot post.
    screen = bot.fake.bot_messages(boss)[-2]
    await _press(bot, boss, screen, cb.ChannelAction(channel.id, "o", "0"))
    screen = bot.fake.get_message(boss, screen.message_id)
    alert = await _press(bot, boss, screen, cb.ChannelAction(channel.id, "o", "1"))
    assert "make me an administrator who can post" in alert


@contextlib.asynccontextmanager
async def _demoted_overnight(
    settings: Settings, engine: Engine
) -> AsyncIterator[tuple[Harness, FakeUser, FakeChat]]:
    """A channel set up by Boss, then the bot demoted while it was not listening (no update);
    the clock at the channel's next digest."""
    fake = FakeTelegram()
    clock = Clock(SAMPLE_NOW)
    boss = fake.create_user("Boss", language_code="en")
    channel = fake.create_channel("AI Daily", creator=boss)
    async with running_bot(settings, engine, fake=fake, clock=clock) as bot:
        await bot.command(boss, boss, "/start")
        await _set_up(bot, boss, channel)
        channel.bot_can_post = False
        clock.now = TOMORROW_8_SHANGHAI
        yield bot, boss, channel


async def test_rights_lost_unnoticed_are_caught_before_planning(
    settings: Settings, sample_engine: Engine
) -> None:
    async with _demoted_overnight(settings, sample_engine) as (bot, boss, channel):
        await _service(bot).tick()
        told = await bot.fake.next_bot_message(boss, timeout=10)
        assert "I can no longer post in AI Daily" in (told.text or "")
        assert bot.fake.bot_messages(channel) == []
        assert _service(bot).last_plan is not None and _service(bot).last_plan.planned == 0


async def test_a_standby_leaves_channel_checks_and_planning_to_the_leader(
    settings: Settings, sample_engine: Engine
) -> None:
    async with _demoted_overnight(settings, sample_engine) as (bot, boss, _channel):
        service = _service(bot)
        asked = len(bot.fake.requests_for("getChatMember"))
        await service.set_sending(False)  # another instance leads: one budget, one checker
        standby = await service.tick()
        assert standby.planned == standby.chats == 0
        assert len(bot.fake.requests_for("getChatMember")) == asked
        await service.set_sending(True)
        await service.tick()
        assert len(bot.fake.requests_for("getChatMember")) > asked
        told = await bot.fake.next_bot_message(boss, timeout=10)
        assert "I can no longer post in AI Daily" in (told.text or "")


async def test_a_channel_follows_tags_from_the_private_chat(bot: Harness) -> None:
    boss = bot.fake.create_user("Boss", language_code="en")
    channel = bot.fake.create_channel("AI Daily", creator=boss)
    await bot.command(boss, boss, "/start")
    screen = await _set_up(bot, boss, channel)
    await bot.press(boss, boss, screen, "🏷 Tags")
    picker = bot.fake.get_message(boss, screen.message_id)
    assert "Following none means every tag" in (picker.text or "")
    first = next(b for b in picker.buttons if b["callback_data"].split(":")[2] == "f")
    await bot.press(boss, boss, picker, first["text"])
    picker = bot.fake.get_message(boss, screen.message_id)
    assert any(b["text"] == "✓ " + first["text"] for b in picker.buttons)
    current = chats.chat_settings(bot.deps, chat_id=channel.id, language="en")
    assert current is not None and len(current.followed_tag_ids) == 1
    listing = await bot.command(boss, boss, "/channels")
    assert "Followed tags: " + first["text"] in (listing.text or "")
