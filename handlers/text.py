"""Plain messages: in a private chat every message gets an answer (words are a search); in a
group the bot answers only when addressed — a reply to one of its messages or an @mention."""

from __future__ import annotations

from telegram import Message, MessageEntity, Update
from telegram.ext import MessageHandler, filters

from bot.context import BotContext
from bot.views.notices import Notice
from handlers.articles import run_search
from handlers.common import notify


async def private_text(update: Update, context: BotContext) -> None:
    message = update.effective_message
    text = " ".join((message.text or "").split()) if message else ""
    if not text:
        await notify(update, context, Notice.NOT_TEXT)
        return
    await run_search(update, context, text, typed=True)


async def private_other(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice...: say what the bot understands instead of staying silent."""
    await notify(update, context, Notice.NOT_TEXT)


def _addressed_text(message: Message, username: str, bot_id: int) -> str | None:
    """The words addressed to the bot in a group message, or None when it is not addressed."""
    text = message.text or ""
    replied = message.reply_to_message
    to_bot = bool(replied and replied.from_user and replied.from_user.id == bot_id)
    handle = f"@{username}".casefold()
    mentions = [
        e
        for e in message.entities or ()
        if e.type == MessageEntity.MENTION and message.parse_entity(e).casefold() == handle
    ]
    if not to_bot and not mentions:
        return None
    for entity in sorted(mentions, key=lambda e: e.offset, reverse=True):
        # Offsets are UTF-16; parse_entity already found the text, so cut it by value.
        mention = message.parse_entity(entity)
        text = text.replace(mention, " ", 1)
    return " ".join(text.split())


async def group_text(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    words = _addressed_text(message, context.bot.username, context.bot.id)
    if words is None:
        return  # people talking to each other: not ours to answer
    if not words:
        await notify(update, context, Notice.ADDRESSED_EMPTY, bot=context.bot.username)
        return
    await run_search(update, context, words, typed=True)


# New messages only (an edit is not a new question); an article shared from inline mode
# (sent "via" the bot) is the user's share, not a query.
_NEW = filters.UpdateType.MESSAGE & ~filters.VIA_BOT
HANDLERS = [
    MessageHandler(_NEW & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, private_text),
    MessageHandler(
        _NEW & filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, private_other
    ),
    MessageHandler(_NEW & filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND, group_text),
]
