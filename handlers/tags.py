"""/tags and /tag, with the open, follow and page buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.catalog import articles as catalog
from bot.catalog import chats
from bot.catalog.chats import SettingError
from bot.context import BotContext
from bot.views import callbacks as cb
from bot.views.common import Rendered
from bot.views.lists import render_article_list, tag_header
from bot.views.notices import Notice
from bot.views.tags import render_tags
from handlers.common import (
    CallbackHandler,
    argument,
    blocking,
    edit,
    may_change_settings,
    notify,
    send,
    too_long,
)


async def tags_screen(context: BotContext, chat_id: int, page: int) -> Rendered:
    tags, followed = await blocking(catalog.tags, context.deps, chat_id=chat_id)
    return render_tags(tags, followed, context.lang, page, days=catalog.TAG_WINDOW_DAYS)


async def tags(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    await send(update, await tags_screen(context, update.effective_chat.id, 0))


async def tag(update: Update, context: BotContext) -> None:
    name = argument(context)
    if not name:
        await notify(update, context, Notice.TAG_USAGE)
        return
    if await too_long(update, context, name):
        return
    listing = await blocking(
        catalog.tag_articles, context.deps, name=name, chat_id=_chat(update), lang=context.lang
    )
    if listing is None:
        await notify(update, context, Notice.TAG_NOT_FOUND, value=name)
        return
    await send(update, _listing(context, listing))


def _chat(update: Update) -> int | None:
    return update.effective_chat.id if update.effective_chat else None


def _listing(context: BotContext, listing: catalog.TagListing) -> Rendered:
    header = tag_header(listing.tag, context.lang, listing.window_days)
    return render_article_list(header, listing.articles, context.lang, now=context.deps.clock())


async def on_open_tag(update: Update, context: BotContext, data: cb.OpenTag) -> None:
    listing = await blocking(
        catalog.tag_articles,
        context.deps,
        tag_id=data.tag_id,
        chat_id=_chat(update),
        lang=context.lang,
    )
    if listing is None:
        await notify(update, context, Notice.STALE_BUTTON)
        return
    await send(update, _listing(context, listing))


async def on_tags_page(update: Update, context: BotContext, data: cb.TagsPage) -> None:
    assert update.callback_query is not None and update.effective_chat is not None
    await edit(
        update.callback_query, await tags_screen(context, update.effective_chat.id, data.page)
    )


async def on_follow(update: Update, context: BotContext, data: cb.FollowTag) -> None:
    assert update.callback_query is not None and update.effective_chat is not None
    if not await may_change_settings(update, context):
        return
    chat_id = update.effective_chat.id
    result = await blocking(
        chats.set_tag_followed,
        context.deps,
        chat_id=chat_id,
        language=context.lang,
        tag_id=data.tag_id,
        followed=data.follow,
    )
    if isinstance(result, SettingError):
        await notify(update, context, Notice.STALE_BUTTON)
        return
    await edit(update.callback_query, await tags_screen(context, chat_id, 0))


COMMANDS = [CommandHandler("tags", tags), CommandHandler("tag", tag)]

CALLBACKS: dict[type, CallbackHandler] = {
    cb.OpenTag: on_open_tag,
    cb.TagsPage: on_tags_page,
    cb.FollowTag: on_follow,
}
