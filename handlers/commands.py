"""The command menu, published with setMyCommands once per interface language."""

from __future__ import annotations

from telegram import Bot, BotCommand

from bot.rules import LANGUAGES
from bot.views.start import command_descriptions

DEFAULT_LANGUAGE = "en"


async def publish_commands(bot: Bot) -> None:
    for lang in LANGUAGES:
        commands = [BotCommand(name, text) for name, text in command_descriptions(lang)]
        await bot.set_my_commands(commands, language_code=lang)
    # Users whose Telegram language is neither get the default menu.
    default = command_descriptions(DEFAULT_LANGUAGE)
    await bot.set_my_commands([BotCommand(name, text) for name, text in default])
