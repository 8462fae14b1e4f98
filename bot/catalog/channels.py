"""Channels and forum topics: who set a channel up, which channels a person administers (asked
of Telegram), and the topic a group's digest goes to.

Settings of a channel change through the same services as any chat (``bot.catalog.chats``);
the handlers check with Telegram, at each change, that the person is still its administrator.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from telegram import Bot
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.catalog import chats
from bot.context import Deps
from storage import chats as chat_store
from storage.db import session_scope
from storage.schemas import ChatSettings

_LOGGER = logging.getLogger(__name__)
_ADMINS = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})
# Each check is one request from the bot's shared budget (~30/s across processes): a few at a
# time keep /channels quick for a person without crowding out the digest or other chats.
CHECKS_AT_ONCE = 4


@dataclass(frozen=True, slots=True)
class ChannelRef:
    chat_id: int
    title: str
    added_by: int | None
    subscribed: bool


def channel_added(deps: Deps, *, chat_id: int, user_id: int | None) -> None:
    """The bot became an administrator that can post: remember who did it; reachable again."""
    with session_scope(deps.engine) as session:
        values: dict[str, object] = {"active": True}
        if user_id is not None:
            values["added_by"] = user_id
        chat_store.update_chat(session=session, chat_id=chat_id, **values)


def channel_lost(deps: Deps, *, chat_id: int) -> ChannelRef | None:
    """The bot can no longer post: stop the digest (settings kept). The channel as it was,
    or None when it was already inactive (nobody to tell twice)."""
    with session_scope(deps.engine) as session:
        chat = chat_store.get_chat(session=session, chat_id=chat_id)
        if chat is None or not chat.active:
            return None
        ref = ChannelRef(chat.id, chat.title or str(chat.id), chat.added_by, chat.subscribed)
        chat_store.deactivate_chats(session=session, chat_ids=[chat_id])
        return ref


def due_channels(deps: Deps, *, now: datetime) -> list[ChannelRef]:
    """Channels about to be planned; the caller confirms the bot may still post in each."""
    with session_scope(deps.engine) as session:
        return [
            ChannelRef(c.id, c.title or str(c.id), c.added_by, c.subscribed)
            for c in chat_store.due_channels(session=session, now=now)
        ]


async def channels_administered(
    deps: Deps, bot: Bot, *, user_id: int, language: str
) -> list[tuple[ChatSettings, str]]:
    """Active channels with the bot that Telegram says ``user_id`` administers right now, each
    with its settings and title, by title. Whoever added the bot does not matter: a second
    administrator sees the channel too. A channel Telegram cannot answer for is left out."""
    found = await asyncio.to_thread(_active_channels, deps)
    gate = asyncio.Semaphore(CHECKS_AT_ONCE)

    async def check(ref: ChannelRef) -> bool:
        async with gate:
            return await _administers(bot, ref.chat_id, user_id)

    verdicts = await asyncio.gather(*(check(ref) for ref in found))
    mine = [ref for ref, ok in zip(found, verdicts, strict=True) if ok]
    return await asyncio.to_thread(_settings_of, deps, mine, language)


async def _administers(bot: Bot, chat_id: int, user_id: int) -> bool:
    """Asked of Telegram each time, never cached: a demoted admin stops seeing the channel."""
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramError as exc:
        _LOGGER.info("could not check user %s in channel %s: %s", user_id, chat_id, exc)
        return False
    return member.status in _ADMINS


def _active_channels(deps: Deps) -> list[ChannelRef]:
    with session_scope(deps.engine) as session:
        return [
            ChannelRef(c.id, c.title or str(c.id), c.added_by, c.subscribed)
            for c in chat_store.active_channels(session=session)
        ]


def _settings_of(
    deps: Deps, refs: list[ChannelRef], language: str
) -> list[tuple[ChatSettings, str]]:
    shown: list[tuple[ChatSettings, str]] = []
    for ref in refs:
        current = chats.chat_settings(deps, chat_id=ref.chat_id, language=language)
        if current is not None:  # gone since it was listed
            shown.append((current, ref.title))
    return shown


def channel_title(deps: Deps, *, chat_id: int) -> str | None:
    """The channel's title, or None when the bot does not know this chat as a channel."""
    with session_scope(deps.engine) as session:
        chat = chat_store.get_chat(session=session, chat_id=chat_id)
        if chat is None or chat.type != "channel":
            return None
        return chat.title or str(chat.id)


def set_topic(deps: Deps, *, chat_id: int, thread_id: int | None) -> None:
    """The forum topic the digest goes to (None: General)."""
    with session_scope(deps.engine) as session:
        chat_store.update_chat(session=session, chat_id=chat_id, message_thread_id=thread_id)
