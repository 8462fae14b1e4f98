"""Inline mode: ``@bot words`` answers matching articles (empty query: today's top)."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode
from telegram.ext import InlineQueryHandler

from bot.catalog import articles as catalog
from bot.context import BotContext
from bot.views.callbacks import parse_article_payload
from bot.views.common import article_title
from bot.views.share import inline_description, render_inline_card
from handlers.common import blocking

MAX_QUERY = 256


async def inline_query(update: Update, context: BotContext) -> None:
    query = update.inline_query
    assert query is not None
    text = query.query[:MAX_QUERY]
    shared = parse_article_payload(text)
    articles = await blocking(catalog.inline_results, context.deps, query=text, shared_id=shared)
    results = []
    for found in articles:
        text, keyboard = render_inline_card(found, context.lang, context.bot.username)
        results.append(
            InlineQueryResultArticle(
                id=str(found.id),
                title=article_title(found, context.lang)[:256],
                description=inline_description(found, context.lang),
                input_message_content=InputTextMessageContent(text, parse_mode=ParseMode.HTML),
                reply_markup=keyboard,
            )
        )
    await query.answer(results, cache_time=30, is_personal=True)


HANDLERS = [InlineQueryHandler(inline_query)]
