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
from storage.schemas import ArticleView

MAX_QUERY = 256


def _result(found: ArticleView, context: BotContext) -> InlineQueryResultArticle:
    text, keyboard = render_inline_card(found, context.lang, context.bot.username)
    return InlineQueryResultArticle(
        id=str(found.id),
        title=article_title(found, context.lang)[:256],
        description=inline_description(found, context.lang),
        input_message_content=InputTextMessageContent(text, parse_mode=ParseMode.HTML),
        reply_markup=keyboard,
    )


async def inline_query(update: Update, context: BotContext) -> None:
    query = update.inline_query
    assert query is not None
    text = query.query[:MAX_QUERY]
    shared = parse_article_payload(text)  # the share screen's "send to a chat" button
    articles = await blocking(
        catalog.inline_results,
        context.deps,
        query=text,
        shared_id=shared,
        user_id=query.from_user.id,  # their private chat with the bot holds their filters
        lang=context.lang,
    )
    await query.answer([_result(a, context) for a in articles], cache_time=30, is_personal=True)


HANDLERS = [InlineQueryHandler(inline_query)]
