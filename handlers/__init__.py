"""Telegram adapters, one module per command group; ``register`` wires them all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, TypeHandler

from bot.context import BotContext
from bot.views import callbacks as cb
from bot.views.notices import Notice
from handlers import (
    admin,
    articles,
    channels,
    filters,
    inline,
    membership,
    settings,
    start,
    tags,
    text,
)
from handlers.common import CallbackHandler, notify, resolve_locale
from handlers.errors import on_error

_CALLBACKS: Mapping[type, CallbackHandler] = {
    **articles.CALLBACKS,
    **settings.CALLBACKS,
    **tags.CALLBACKS,
    **filters.CALLBACKS,
    **channels.CALLBACKS,
}


async def route_callback(update: Update, context: BotContext) -> None:
    """Decode the button, act on the chat it was pressed in, and answer every query once."""
    query = update.callback_query
    assert query is not None
    data = cb.decode(query.data)
    handler = _CALLBACKS.get(type(data)) if data is not None else None
    if handler is None or update.effective_chat is None:
        await notify(update, context, Notice.STALE_BUTTON)
        return
    await handler(update, context, data)
    if not context.callback_answered:
        await query.answer()
        context.callback_answered = True


def register(application: Application[Any, BotContext, Any, Any, Any, Any]) -> None:
    application.add_handler(TypeHandler(Update, resolve_locale), group=-1)
    for module in (start, articles, settings, filters, tags, admin, channels):
        application.add_handlers(module.COMMANDS)
    application.add_handlers(inline.HANDLERS)
    application.add_handlers(membership.HANDLERS)
    application.add_handlers(text.HANDLERS)
    application.add_handler(CallbackQueryHandler(route_callback))
    application.add_handler(start.FALLBACK)
    application.add_error_handler(on_error)
