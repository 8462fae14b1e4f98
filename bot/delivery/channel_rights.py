"""Before planning: the bot must still be allowed to post in every channel that is due.

Telegram also sends ``my_chat_member`` when the bot is demoted (handled in handlers), but an
update can be missed while the bot is down; this check runs where it matters, right before a
channel's digest is planned, and stops that channel's digest (admin told) instead of failing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from telegram import Bot, ChatMemberAdministrator
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.catalog import channels, chats
from bot.context import Deps
from bot.views.channels import channel_lost_text

_LOGGER = logging.getLogger(__name__)


async def bot_may_post(bot: Bot, chat_id: int) -> bool | None:
    """True/False from Telegram; None when Telegram could not be asked (keep the channel)."""
    try:
        member = await bot.get_chat_member(chat_id, bot.id)
    except (BadRequest, Forbidden):
        return False  # chat gone or the bot removed
    except TelegramError as exc:
        _LOGGER.warning("could not check the bot's rights in %s: %s", chat_id, exc)
        return None
    return isinstance(member, ChatMemberAdministrator) and bool(member.can_post_messages)


async def check_due_channels(bot: Bot, deps: Deps, now: datetime) -> int:
    """Deactivate due channels the bot can no longer post in; how many were stopped."""
    due = await asyncio.to_thread(channels.due_channels, deps, now=now)
    stopped = 0
    for ref in due:
        if await bot_may_post(bot, ref.chat_id) is not False:
            continue
        lost = await asyncio.to_thread(channels.channel_lost, deps, chat_id=ref.chat_id)
        stopped += 1
        if lost is None or lost.added_by is None:
            continue
        person = await asyncio.to_thread(
            chats.chat_settings,
            deps,
            chat_id=lost.added_by,
            language=deps.settings.default_language,
        )
        lang = person.language if person is not None else deps.settings.default_language
        try:
            await bot.send_message(lost.added_by, channel_lost_text(lost.title, lang))
        except (Forbidden, BadRequest) as exc:
            _LOGGER.info("could not tell user %s: %s", lost.added_by, exc.message)
    return stopped
