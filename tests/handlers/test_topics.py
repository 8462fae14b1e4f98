"""Forum topics: /subscribe in a topic delivers there; a closed topic falls back to General."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.delivery.planner import SERVICE_KEY, DeliveryService
from bot.emulator import FakeTelegram
from storage.chats import get_chat, leave_topic
from tests.harness import SAMPLE_NOW, Clock, Harness, running_bot


def _service(bot: Harness) -> DeliveryService:
    service = bot.app.bot_data[SERVICE_KEY]
    assert isinstance(service, DeliveryService)
    return service


async def test_topic_subscription_delivers_into_the_topic_then_general_once_closed(
    settings: Settings, sample_engine: Engine
) -> None:
    fake = FakeTelegram()
    clock = Clock(SAMPLE_NOW)  # 02:00 UTC
    boss = fake.create_user("Boss", language_code="en")
    forum = fake.create_group("AI Forum", members=[boss], admins=[boss], creator=boss, forum=True)
    news = fake.create_topic(forum)
    async with running_bot(settings, sample_engine, fake=fake, clock=clock) as bot:
        await fake.send_text(forum, boss, "/time 02:05", topic=news)
        reply = await fake.next_bot_message(forum, timeout=10)
        assert reply.message_thread_id == news  # the answer stays in the topic
        await fake.send_text(forum, boss, "/subscribe", topic=news)
        reply = await fake.next_bot_message(forum, timeout=10)
        assert reply.message_thread_id == news and "Subscribed" in (reply.text or "")

        clock.now = SAMPLE_NOW + timedelta(minutes=5)
        await _service(bot).tick()
        digest = await fake.next_bot_message(forum, timeout=10)
        assert (digest.text or "").startswith("📰") and digest.message_thread_id == news

        fake.set_topic_state(forum, news, "closed")
        clock.now += timedelta(days=1)
        await _service(bot).tick()
        notice, second = await fake.next_bot_messages(forum, 2, timeout=10)
        assert "closed or gone" in (notice.text or "") and notice.message_thread_id is None
        assert (second.text or "").startswith("📰") and second.message_thread_id is None
        with Session(sample_engine) as session:
            chat = get_chat(session=session, chat_id=forum.id)
        assert chat is not None and chat.message_thread_id is None  # General from now on
        # A second sender that hit the same closed topic does not tell the group again.
        with Session(sample_engine) as session:
            assert not leave_topic(session=session, chat_id=forum.id, thread_id=news)


async def test_a_deleted_topic_does_not_lose_the_digest(
    settings: Settings, sample_engine: Engine
) -> None:
    fake = FakeTelegram()
    clock = Clock(SAMPLE_NOW)
    boss = fake.create_user("Boss", language_code="en")
    forum = fake.create_group("AI Forum", members=[boss], admins=[boss], creator=boss, forum=True)
    news = fake.create_topic(forum)
    async with running_bot(settings, sample_engine, fake=fake, clock=clock) as bot:
        await fake.send_text(forum, boss, "/time 02:05", topic=news)
        await fake.send_text(forum, boss, "/subscribe", topic=news)
        await fake.next_bot_messages(forum, 2, timeout=10)
        fake.set_topic_state(forum, news, "deleted")
        clock.now = SAMPLE_NOW + timedelta(minutes=5)
        await _service(bot).tick()
        notice, digest = await fake.next_bot_messages(forum, 2, timeout=10)
        assert "closed or gone" in (notice.text or "")
        assert (digest.text or "").startswith("📰") and digest.message_thread_id is None
