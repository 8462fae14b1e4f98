"""The bot's own membership: greet a group that adds it, stop writing to chats that drop it."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.ext import ChatMemberHandler

from bot.catalog import chats
from bot.context import BotContext
from bot.views.start import render_welcome
from handlers.channels import channel_membership
from handlers.common import blocking, send

_GONE = {ChatMember.LEFT, ChatMember.BANNED}


async def my_chat_member(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    assert change is not None
    was, now = change.old_chat_member.status, change.new_chat_member.status
    if change.chat.type == "channel":
        await channel_membership(update, context)
        return
    if now in _GONE:
        await blocking(chats.bot_left, context.deps, chat_id=change.chat.id)
    elif was in _GONE and change.chat.type != "private":
        await send(update, render_welcome(change.chat.title, context.lang))


HANDLERS = [ChatMemberHandler(my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)]
