"""Forum topics in delivery: a digest whose topic was closed or deleted goes to General.

Telegram answers ``TOPIC_CLOSED`` for a closed topic and "message thread not found" for a
deleted one. The subscription then moves to General (``message_thread_id`` cleared) and the
group is told once: only the sender whose update cleared the topic tells, however many
processes are sending.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.engine import Engine
from telegram import Bot
from telegram.error import TelegramError

from bot.views.channels import topic_closed_text
from storage.chats import leave_topic
from storage.db import session_scope

_LOGGER = logging.getLogger(__name__)


def topic_gone(message: str) -> bool:
    text = message.lower()
    return "topic_closed" in text or "message thread not found" in text


def _clear(engine: Engine, chat_id: int, thread_id: int) -> bool:
    with session_scope(engine) as session:
        return leave_topic(session=session, chat_id=chat_id, thread_id=thread_id)


async def move_to_general(
    bot: Bot, engine: Engine, *, chat_id: int, thread_id: int, lang: str
) -> None:
    """Clear the topic; the first to clear it tells the group (in General)."""
    if not await asyncio.to_thread(_clear, engine, chat_id, thread_id):
        return
    try:
        await bot.send_message(chat_id, topic_closed_text(lang))
    except TelegramError as exc:
        _LOGGER.warning("could not tell chat %s its topic is gone: %s", chat_id, exc)
