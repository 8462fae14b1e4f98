"""send_rich_message: sent, or None with the right memory when the server cannot take it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram import Bot

from bot.context import RichSupport
from bot.delivery.rich import send_rich_message
from bot.emulator import FakeTelegram, FakeTelegramServer
from tests.bot.emulator.support import TOKEN, make_bot

pytestmark = pytest.mark.asyncio


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(TOKEN, bot_username="digest_test_bot")


@pytest_asyncio.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with FakeTelegramServer(fake) as server, make_bot(server) as client:
        yield client


async def test_sent_when_supported(bot: Bot, fake: FakeTelegram) -> None:
    ann = fake.create_user("Ann")
    support = RichSupport()
    sent = await send_rich_message(bot, support, chat_id=ann.id, html="<p>Hello</p>")
    assert sent is not None and fake.get_message(ann, sent.message_id).text == "Hello"
    assert support.enabled


async def test_an_unsupported_construct_switches_rich_messages_off(
    bot: Bot, fake: FakeTelegram
) -> None:
    ann = fake.create_user("Ann")
    support = RichSupport()
    html = "<p>x</p><tg-math-block>x^2</tg-math-block>"
    assert await send_rich_message(bot, support, chat_id=ann.id, html=html) is None
    assert not support.enabled and "unsupported start tag" in (support.reason or "").lower()
    # Remembered: the next call does not even ask.
    calls = len(fake.requests_for("sendRichMessage"))
    assert await send_rich_message(bot, support, chat_id=ann.id, html="<p>ok</p>") is None
    assert len(fake.requests_for("sendRichMessage")) == calls
    assert fake.bot_messages(ann) == []


async def test_other_refusals_fall_back_once_only(bot: Bot, fake: FakeTelegram) -> None:
    ann = fake.create_user("Ann")
    support = RichSupport()
    assert await send_rich_message(bot, support, chat_id=ann.id, html="<p>x</b></p>") is None
    assert support.enabled  # a bad message, not a server without the feature


async def test_a_server_without_the_method(bot: Bot, fake: FakeTelegram) -> None:
    fake.rich_messages = False
    support = RichSupport()
    ann = fake.create_user("Ann")
    assert await send_rich_message(bot, support, chat_id=ann.id, html="<p>x</p>") is None
    assert not support.enabled and "no sendRichMessage" in (support.reason or "")
