"""Channels: setup when the bot is made an administrator, /channels, the channel buttons, and
the digest stopped (and the admin told) when the bot can no longer post."""

from __future__ import annotations

import logging

from telegram import ChatMemberAdministrator, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import CommandHandler

from bot.catalog import articles, channels, chats
from bot.catalog.chats import SettingError
from bot.context import BotContext
from bot.rules import resolve_language
from bot.views import callbacks as cb
from bot.views.channels import (
    channel_admin_only_text,
    channel_cannot_post_text,
    channel_lost_text,
    render_channel_list,
    render_channel_picker,
    render_channel_settings,
    render_channel_tags,
)
from bot.views.notices import Notice
from handlers.common import CallbackHandler, blocking, edit, notify, send
from storage.schemas import ChatSettings

_LOGGER = logging.getLogger(__name__)
_ADMINS = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


async def _administers(context: BotContext, chat_id: int, user_id: int) -> bool:
    """Asked of Telegram at every change, never cached: a demoted admin loses control at once."""
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except (BadRequest, Forbidden):
        return False
    return member.status in _ADMINS


async def bot_can_post(context: BotContext, chat_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat_id, context.bot.id)
    except (BadRequest, Forbidden):
        return False
    return isinstance(member, ChatMemberAdministrator) and bool(member.can_post_messages)


async def _language_of(context: BotContext, user_id: int, code: str | None) -> str:
    """A person's language: their private chat's setting, else Telegram's hint."""
    found = await blocking(chats.chat_settings, context.deps, chat_id=user_id, language="")
    if found is not None and found.language:
        return found.language
    return resolve_language(None, code, context.deps.settings.default_language)


async def _tell(
    context: BotContext, user_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """A private message to an admin; one who never started the bot cannot be written to."""
    try:
        await context.bot.send_message(user_id, text, reply_markup=markup)
    except (Forbidden, BadRequest) as exc:
        _LOGGER.info("could not tell user %s about a channel: %s", user_id, exc.message)


async def channel_membership(update: Update, context: BotContext) -> None:
    """The bot's rights in a channel changed (called by handlers.membership)."""
    change = update.my_chat_member
    assert change is not None
    chat_id, title = change.chat.id, change.chat.title or str(change.chat.id)
    new = change.new_chat_member
    if isinstance(new, ChatMemberAdministrator) and new.can_post_messages:
        adder = change.from_user
        user_id = adder.id if adder is not None and not adder.is_bot else None
        await blocking(channels.channel_added, context.deps, chat_id=chat_id, user_id=user_id)
        if user_id is None:
            return
        lang = await _language_of(context, user_id, adder.language_code if adder else None)
        current = await blocking(chats.chat_settings, context.deps, chat_id=chat_id, language=lang)
        assert current is not None
        text, keyboard = render_channel_settings(
            current, title, lang, context.deps.clock(), setup=True
        )
        await _tell(context, user_id, text, keyboard)
        return
    lost = await blocking(channels.channel_lost, context.deps, chat_id=chat_id)
    if lost is not None and lost.added_by is not None:
        lang = await _language_of(context, lost.added_by, None)
        await _tell(context, lost.added_by, channel_lost_text(title, lang))


async def list_channels(update: Update, context: BotContext) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE:
        await notify(update, context, Notice.CHANNELS_PRIVATE_ONLY)
        return
    shown = await channels.channels_administered(
        context.deps, context.bot, user_id=user.id, language=context.lang
    )
    await send(update, render_channel_list(shown, context.lang, context.deps.clock()))


async def _alert(update: Update, context: BotContext, text: str) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer(text[:200], show_alert=True)
    context.callback_answered = True


async def on_channel_action(update: Update, context: BotContext, data: cb.ChannelAction) -> None:
    chat, user, query = update.effective_chat, update.effective_user, update.callback_query
    assert query is not None
    if chat is None or user is None or chat.type != ChatType.PRIVATE:
        await notify(update, context, Notice.STALE_BUTTON)
        return
    title = await blocking(channels.channel_title, context.deps, chat_id=data.chat_id)
    if title is None:
        await notify(update, context, Notice.STALE_BUTTON)
        return
    if not await _administers(context, data.chat_id, user.id):
        await _alert(update, context, channel_admin_only_text(title, context.lang))
        return
    result = await _apply(context, data)
    if isinstance(result, str):
        await _alert(update, context, channel_cannot_post_text(title, context.lang))
        return
    if isinstance(result, SettingError):
        await notify(update, context, Notice.STALE_BUTTON)
        return
    now = context.deps.clock()
    if data.key == "f" or data.value == "tags":
        tags, _followed = await blocking(articles.tags, context.deps, chat_id=data.chat_id)
        await edit(query, render_channel_tags(result, title, context.lang, tags))
    elif data.key == "s" and data.value != "main":
        await edit(query, render_channel_picker(result, title, context.lang, now, data.value))
    else:
        await edit(query, render_channel_settings(result, title, context.lang, now))


async def _apply(context: BotContext, data: cb.ChannelAction) -> ChatSettings | SettingError | str:
    """The channel's settings after the action; "cannot post" when turning on is refused."""
    deps, chat_id, value = context.deps, data.chat_id, data.value
    lang = context.lang
    if data.key == "o":
        on = value == "1"
        if on and not await bot_can_post(context, chat_id):
            return "cannot post"
        return await blocking(
            chats.set_subscribed, deps, chat_id=chat_id, language=lang, subscribed=on
        )
    if data.key == "l":
        return await blocking(chats.set_language, deps, chat_id=chat_id, language=value)
    if data.key == "f":
        tag_id, _dot, flag = value.partition(".")
        return await blocking(
            chats.set_tag_followed,
            deps,
            chat_id=chat_id,
            language=lang,
            tag_id=int(tag_id),
            followed=flag == "1",
        )
    setters = {"n": chats.set_article_count, "z": chats.set_timezone, "t": chats.set_digest_time}
    if data.key in setters:
        text = f"{value[:2]}:{value[2:]}" if data.key == "t" else value
        return await blocking(setters[data.key], deps, chat_id=chat_id, language=lang, text=text)
    current = await blocking(chats.chat_settings, deps, chat_id=chat_id, language=lang)
    return current if current is not None else SettingError.UNKNOWN_TAG


COMMANDS = [CommandHandler("channels", list_channels)]

CALLBACKS: dict[type, CallbackHandler] = {cb.ChannelAction: on_channel_action}
