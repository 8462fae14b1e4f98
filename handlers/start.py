"""/start (with deep-link payloads), /help and the answer to unknown commands."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.context import BotContext
from bot.views.callbacks import parse_article_payload
from bot.views.notices import Notice
from bot.views.start import render_help, render_welcome
from handlers.articles import show_article
from handlers.commands import publish_chat_commands
from handlers.common import argument, notify, send


async def start(update: Update, context: BotContext) -> None:
    article_id = parse_article_payload(argument(context))
    if article_id is not None:
        await show_article(update, context, article_id)
        return
    user = update.effective_user
    await send(update, render_welcome(user.first_name if user else None, context.lang))
    chat = update.effective_chat
    if chat is not None and context.lang == "zh_Hant":  # menus by code cannot say 繁體
        await publish_chat_commands(context.bot, chat.id, context.lang)


async def help_command(update: Update, context: BotContext) -> None:
    await send(update, render_help(context.lang))


async def unknown_command(update: Update, context: BotContext) -> None:
    text = update.effective_message.text if update.effective_message else None
    command = (text or "").split(maxsplit=1)[0]
    _name, _at, addressee = command.partition("@")
    if addressee and addressee.lower() != context.bot.username.lower():
        return  # another bot's command in a group: not ours to answer
    await notify(update, context, Notice.UNKNOWN_COMMAND)


COMMANDS = [CommandHandler("start", start), CommandHandler("help", help_command)]
# Registered last: any command no other handler took.
FALLBACK = MessageHandler(filters.COMMAND, unknown_command)
