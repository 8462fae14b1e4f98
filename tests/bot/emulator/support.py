"""Shared by the emulator tests: the bot token and a PTB ``Bot`` talking to a server."""

from __future__ import annotations

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.emulator import FakeTelegramServer

TOKEN = "123456789:TEST-fake-telegram-token"


def make_bot(server: FakeTelegramServer, read_timeout: float = 5.0) -> Bot:
    return Bot(
        TOKEN,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=2.0),
    )
