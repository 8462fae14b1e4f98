"""Shared adapter pieces: locale resolution, sending rendered messages, admin gating."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest

from bot.catalog import chats
from bot.context import BotContext
from bot.delivery.rich import send_rich_message
from bot.rules import resolve_language
from bot.views.common import Rendered
from bot.views.notices import Notice, notice_text, render_notice
from bot.views.sameness import shows

# A button handler gets the decoded callback data of the button that was pressed.
CallbackHandler = Callable[[Update, BotContext, Any], Awaitable[None]]
CommandCallback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]

P = ParamSpec("P")
R = TypeVar("R")


async def blocking(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a synchronous service call (database I/O) in a worker thread, so a slow query
    never stalls the event loop that also drives the broadcast and every other chat."""
    return await asyncio.to_thread(fn, *args, **kwargs)


# Arguments longer than this are refused before any work (a 5,000-character /search...).
MAX_ARGUMENT = 256
_ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


async def resolve_locale(update: object, context: BotContext) -> None:
    """Group -1: record the chat and resolve the language once for this update."""
    if not isinstance(update, Update):
        return
    user = update.effective_user
    chat = update.effective_chat
    code = user.language_code if user else None
    if chat is None:  # inline queries have no chat: the user's language decides
        context.lang = resolve_language(None, code, context.deps.settings.default_language)
        return
    context.lang = await blocking(
        chats.resolve_chat,
        context.deps,
        chat_id=chat.id,
        chat_type=chat.type,
        title=chat.title or chat.full_name,
        user_language_code=code,
    )


def chat_id_of(update: Update) -> int:
    """The chat a settings update acts on (every such handler runs for updates with a chat)."""
    assert update.effective_chat is not None
    return update.effective_chat.id


def argument(context: BotContext) -> str:
    return " ".join(context.args or []).strip()


def topic_of(update: Update) -> int | None:
    """The forum topic the update came from, so the answer goes back into that topic."""
    message = update.effective_message
    if message is not None and message.is_topic_message:
        return message.message_thread_id
    return None


async def send(update: Update, rendered: Rendered) -> Message | None:
    text, keyboard = rendered
    chat = update.effective_chat
    if chat is None:
        return None
    return await chat.send_message(text, reply_markup=keyboard, message_thread_id=topic_of(update))


async def send_rich(update: Update, context: BotContext, rendered: Rendered) -> bool:
    """Send a rich message; False when this server or process cannot (send pages instead)."""
    chat = update.effective_chat
    if chat is None:
        return False
    html, keyboard = rendered
    sent = await send_rich_message(
        context.bot,
        context.deps.rich,
        chat_id=chat.id,
        html=html,
        reply_markup=keyboard,
        message_thread_id=topic_of(update),
    )
    return sent is not None


async def notify(update: Update, context: BotContext, notice: Notice, **params: object) -> None:
    """A short localized answer: an alert for buttons, a message for commands."""
    if update.callback_query is not None:
        await update.callback_query.answer(
            notice_text(notice, context.lang, **params)[:200], show_alert=True
        )
        context.callback_answered = True
        return
    await send(update, render_notice(notice, context.lang, **params))


async def too_long(update: Update, context: BotContext, text: str) -> bool:
    if len(text) <= MAX_ARGUMENT:
        return False
    await notify(update, context, Notice.ARGUMENT_TOO_LONG, limit=MAX_ARGUMENT)
    return True


async def edit(query: CallbackQuery, rendered: Rendered) -> None:
    """Replace a message in place. An edit that would change nothing (the button of the
    screen already shown) is not sent; a race that still meets "not modified" is no error."""
    text, keyboard = rendered
    if shows(query.message, text, keyboard):
        return
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest as exc:
        if "not modified" not in exc.message:
            raise


async def may_change_settings(update: Update, context: BotContext) -> bool:
    """In groups only chat administrators may change settings; others are told politely."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or chat.type == ChatType.PRIVATE:
        return True
    if user is not None:
        member = await context.bot.get_chat_member(chat.id, user.id)
        if member.status in _ADMIN_STATUSES:
            return True
    await notify(update, context, Notice.ADMIN_ONLY)
    return False
