"""The command menu and the bot's descriptions, published per interface language.

Telegram scopes menus and descriptions by a two-letter ``language_code``, so ``zh`` carries
Simplified Chinese; a chat that reads 繁體中文 gets its own menu through the chat scope
(published when it picks the language or starts the bot).
"""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.rules import LANGUAGES
from bot.views.start import bot_descriptions, command_descriptions

DEFAULT_LANGUAGE = "en"
# Per-chat menus replace the language menus only for the languages the codes cannot name.
_CHAT_SCOPED = frozenset({"zh_Hant"})


def _menu(lang: str) -> list[BotCommand]:
    return [BotCommand(name, text) for name, text in command_descriptions(lang)]


async def publish_commands(bot: Bot) -> None:
    for lang in LANGUAGES:
        if lang in _CHAT_SCOPED:
            continue
        await bot.set_my_commands(_menu(lang), language_code=lang)
        description, short = bot_descriptions(lang)
        await bot.set_my_description(description, language_code=lang)
        await bot.set_my_short_description(short, language_code=lang)
    # Users whose Telegram language is neither get the default menu and descriptions.
    await bot.set_my_commands(_menu(DEFAULT_LANGUAGE))
    description, short = bot_descriptions(DEFAULT_LANGUAGE)
    await bot.set_my_description(description)
    await bot.set_my_short_description(short)


async def publish_chat_commands(bot: Bot, chat_id: int, lang: str) -> None:
    """A chat's own menu in ``lang`` (Traditional Chinese), or back to the language menus."""
    scope = BotCommandScopeChat(chat_id)
    try:
        if lang in _CHAT_SCOPED:
            await bot.set_my_commands(_menu(lang), scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramError:
        # The menu is a convenience: a chat we cannot set it for still gets its answer.
        return
