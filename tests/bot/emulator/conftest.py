"""Fixtures for the emulator tests: a fake, its server on loopback, a PTB ``Bot`` using it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram import Bot

from bot.emulator import FakeTelegram, FakeTelegramServer
from tests.bot.emulator.support import TOKEN, make_bot


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(TOKEN, bot_username="digest_test_bot")


@pytest_asyncio.fixture
async def server(fake: FakeTelegram) -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(fake) as srv:
        yield srv


@pytest_asyncio.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with make_bot(server) as client:
        yield client
