"""The one error handler: log the failure, tell the user something went wrong, no internals."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.context import BotContext
from bot.views.notices import Notice, notice_text, render_notice

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    log.error("update %s failed", getattr(update, "update_id", "?"), exc_info=context.error)
    if not isinstance(update, Update):
        return
    lang = context.lang or context.deps.settings.default_language
    try:
        if update.callback_query is not None and not context.callback_answered:
            await update.callback_query.answer(notice_text(Notice.ERROR, lang), show_alert=True)
        elif update.effective_chat is not None and update.callback_query is None:
            text, _ = render_notice(Notice.ERROR, lang)
            await update.effective_chat.send_message(text)
    except TelegramError:
        # Telegram itself is failing; the log above already has the original error.
        log.warning("could not tell the user about the failure", exc_info=True)
