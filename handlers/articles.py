"""/top, /latest, /digest, /article (/detail), /share, /search and the article buttons."""

from __future__ import annotations

from collections.abc import Callable

from telegram import Message, Update
from telegram.ext import CommandHandler

from bot.catalog import articles as catalog
from bot.context import BotContext
from bot.rules import ascii_int
from bot.views import callbacks as cb
from bot.views.common import Rendered
from bot.views.detail import render_article_detail
from bot.views.digest import render_digest
from bot.views.lists import (
    latest_header,
    render_article_list,
    search_header,
    top_header,
)
from bot.views.notices import Notice
from bot.views.rich import render_article_rich
from bot.views.share import render_share
from handlers.common import (
    CallbackHandler,
    argument,
    blocking,
    edit,
    notify,
    send,
    send_rich,
    too_long,
)
from storage.schemas import ArticleView


def _count(text: str) -> int | None:
    if not text:
        return catalog.DEFAULT_LIST
    value = ascii_int(text)
    return value if value is not None and 1 <= value <= catalog.MAX_LIST else None


async def _ranked_list(
    update: Update,
    context: BotContext,
    fetch: Callable[..., list[ArticleView]],
    header: Callable[[str], str],
) -> None:
    limit = _count(argument(context))
    if limit is None:
        await notify(update, context, Notice.BAD_COUNT)
        return
    articles = await blocking(
        fetch, context.deps, limit=limit, chat_id=_chat_id(update), lang=context.lang
    )
    await send(update, _list(context, header(context.lang), articles))


def _chat_id(update: Update) -> int | None:
    return update.effective_chat.id if update.effective_chat else None


def _list(context: BotContext, header: str, articles: list[ArticleView]) -> Rendered:
    return render_article_list(header, articles, context.lang, now=context.deps.clock())


async def top(update: Update, context: BotContext) -> None:
    await _ranked_list(update, context, catalog.top, top_header)


async def latest(update: Update, context: BotContext) -> None:
    await _ranked_list(update, context, catalog.latest, latest_header)


async def digest(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    preview = await blocking(
        catalog.digest_preview, context.deps, chat_id=chat_id, lang=context.lang
    )
    if not preview.articles:
        await notify(update, context, Notice.NO_ARTICLES)
        return
    zone = await blocking(catalog.chat_zone, context.deps, chat_id=chat_id)
    now = context.deps.clock()
    await send(
        update, render_digest(preview.articles, context.lang, zone, now, hidden=preview.hidden)
    )


def _article_id(text: str) -> int | None:
    return ascii_int(text.removeprefix("#"))


async def show_article(update: Update, context: BotContext, article_id: int, page: int = 0) -> None:
    """Send an article's detail view (also used by /start deep links)."""
    article = await blocking(catalog.article, context.deps, article_id=article_id)
    if article is None:
        await notify(update, context, Notice.ARTICLE_NOT_FOUND, id=article_id)
        return
    now = context.deps.clock()
    if page == 0 and context.deps.rich.enabled:
        rich = render_article_rich(article, context.lang, now)
        if rich is not None and await send_rich(update, context, rich):
            return
    await send(update, render_article_detail(article, context.lang, page, now=now))


async def _article_argument(update: Update, context: BotContext) -> int | None:
    """The article number given to /article or /share; a usage hint when there is none."""
    text = argument(context)
    if await too_long(update, context, text):
        return None
    article_id = _article_id(text)
    if article_id is None:
        await notify(update, context, Notice.ARTICLE_USAGE)
    return article_id


async def article(update: Update, context: BotContext) -> None:
    article_id = await _article_argument(update, context)
    if article_id is not None:
        await show_article(update, context, article_id)


async def share(update: Update, context: BotContext) -> None:
    article_id = await _article_argument(update, context)
    if article_id is not None:
        await _send_share(update, context, article_id)


async def _send_share(update: Update, context: BotContext, article_id: int) -> None:
    found = await blocking(catalog.article, context.deps, article_id=article_id)
    if found is None:
        await notify(update, context, Notice.ARTICLE_NOT_FOUND, id=article_id)
        return
    await send(update, render_share(found, context.lang, context.bot.username))


async def search(update: Update, context: BotContext) -> None:
    query = argument(context)
    if not query:
        await notify(update, context, Notice.SEARCH_USAGE)
        return
    await run_search(update, context, query, typed=False)


async def run_search(update: Update, context: BotContext, query: str, *, typed: bool) -> None:
    """Search results for /search or for words typed as a message (which get a hint)."""
    if await too_long(update, context, query):
        return
    articles = await blocking(
        catalog.search, context.deps, query=query, chat_id=_chat_id(update), lang=context.lang
    )
    if not articles:
        notice = Notice.NO_RESULTS_TYPED if typed else Notice.NO_RESULTS
        await notify(update, context, notice, query=query)
        return
    await send(update, _list(context, search_header(query, context.lang, typed=typed), articles))


def _is_paged_detail(message: Message | None) -> bool:
    """A paged detail view carries the page indicator (a Noop button); lists never do, so
    ‹ › edit the detail in place while 📖 in a list opens a new message."""
    markup = message.reply_markup if message else None
    rows = markup.inline_keyboard if markup else ()
    return any(isinstance(cb.decode(b.callback_data), cb.Noop) for row in rows for b in row)


async def on_article_page(update: Update, context: BotContext, data: cb.ArticlePage) -> None:
    query = update.callback_query
    assert query is not None
    message = query.message if isinstance(query.message, Message) else None
    if not _is_paged_detail(message):
        await show_article(update, context, data.article_id, data.page)
        return
    article = await blocking(catalog.article, context.deps, article_id=data.article_id)
    if article is None:
        await notify(update, context, Notice.ARTICLE_NOT_FOUND, id=data.article_id)
        return
    rendered = render_article_detail(article, context.lang, data.page, now=context.deps.clock())
    await edit(query, rendered)


async def on_share(update: Update, context: BotContext, data: cb.Share) -> None:
    await _send_share(update, context, data.article_id)


async def on_digest_now(update: Update, context: BotContext, data: cb.DigestNow) -> None:
    await digest(update, context)


async def on_noop(update: Update, context: BotContext, data: cb.Noop) -> None:
    """The page indicator: nothing to do (the router still answers the query)."""


COMMANDS = [
    CommandHandler("top", top),
    CommandHandler("latest", latest),
    CommandHandler("digest", digest),
    CommandHandler(["article", "detail"], article),
    CommandHandler("share", share),
    CommandHandler("search", search),
]

CALLBACKS: dict[type, CallbackHandler] = {
    cb.ArticlePage: on_article_page,
    cb.Share: on_share,
    cb.DigestNow: on_digest_now,
    cb.Noop: on_noop,
}
