"""/filters, /mute, /unmute, /mutetag, /unmutetag, /minscore and the filter buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.catalog import filters as filter_service
from bot.catalog.filters import FilterError
from bot.context import BotContext
from bot.views import callbacks as cb
from bot.views.common import Rendered
from bot.views.filters import render_filters
from bot.views.notices import Notice
from handlers.common import (
    CallbackHandler,
    argument,
    blocking,
    chat_id_of,
    edit,
    may_change_settings,
    notify,
    send,
    too_long,
)
from storage.schemas import ChatFilters

_ERRORS = {
    FilterError.BAD_KEYWORD: Notice.BAD_KEYWORD,
    FilterError.TOO_MANY_KEYWORDS: Notice.TOO_MANY_KEYWORDS,
    FilterError.BAD_SCORE: Notice.BAD_SCORE,
    FilterError.UNKNOWN_TAG: Notice.TAG_NOT_FOUND,
}


async def filters_screen(context: BotContext, chat_id: int) -> Rendered:
    found = await blocking(
        filter_service.chat_filters, context.deps, chat_id=chat_id, lang=context.lang
    )
    return render_filters(found, context.lang)


async def show_filters(update: Update, context: BotContext) -> None:
    await send(update, await filters_screen(context, chat_id_of(update)))


async def _answer(
    update: Update,
    context: BotContext,
    result: ChatFilters | FilterError,
    notice: Notice,
    value: str,
) -> None:
    if isinstance(result, FilterError):
        await notify(update, context, _ERRORS[result], value=value)
        return
    if update.callback_query is not None:
        await edit(update.callback_query, render_filters(result, context.lang))
        return
    await notify(update, context, notice, value=value)


async def _checked_argument(update: Update, context: BotContext, usage: Notice) -> str | None:
    """The command's argument once it is present, short enough and the sender may change it."""
    value = argument(context)
    if not value:
        await notify(update, context, usage)
        return None
    if await too_long(update, context, value) or not await may_change_settings(update, context):
        return None
    return value


async def mute(update: Update, context: BotContext) -> None:
    word = await _checked_argument(update, context, Notice.MUTE_USAGE)
    if word is not None:
        result = await blocking(
            filter_service.mute_keyword,
            context.deps,
            chat_id=chat_id_of(update),
            lang=context.lang,
            text=word,
        )
        await _answer(update, context, result, Notice.KEYWORD_MUTED, word)


async def unmute(update: Update, context: BotContext) -> None:
    word = await _checked_argument(update, context, Notice.MUTE_USAGE)
    if word is not None:
        result = await blocking(
            filter_service.unmute_keyword,
            context.deps,
            chat_id=chat_id_of(update),
            lang=context.lang,
            text=word,
        )
        await _answer(update, context, result, Notice.KEYWORD_UNMUTED, word)


async def _tag_command(update: Update, context: BotContext, muted: bool) -> None:
    name = await _checked_argument(update, context, Notice.MUTETAG_USAGE)
    if name is not None:
        result = await blocking(
            filter_service.set_tag_muted,
            context.deps,
            chat_id=chat_id_of(update),
            lang=context.lang,
            name=name,
            muted=muted,
        )
        await _answer(
            update, context, result, Notice.TAG_MUTED if muted else Notice.TAG_UNMUTED, name
        )


async def mutetag(update: Update, context: BotContext) -> None:
    await _tag_command(update, context, True)


async def unmutetag(update: Update, context: BotContext) -> None:
    await _tag_command(update, context, False)


async def minscore(update: Update, context: BotContext) -> None:
    value = await _checked_argument(update, context, Notice.BAD_SCORE)
    if value is not None:
        result = await blocking(
            filter_service.set_min_score,
            context.deps,
            chat_id=chat_id_of(update),
            lang=context.lang,
            text=value,
        )
        await _answer(update, context, result, Notice.MIN_SCORE_SET, value)


# --- buttons (the filters screen) ------------------------------------------------------


async def on_min_score(update: Update, context: BotContext, data: cb.SetMinScore) -> None:
    if await may_change_settings(update, context):
        result = await blocking(
            filter_service.set_min_score,
            context.deps,
            chat_id=chat_id_of(update),
            lang=context.lang,
            text=str(data.score),
        )
        await _answer(update, context, result, Notice.MIN_SCORE_SET, str(data.score))


async def on_own_language(update: Update, context: BotContext, data: cb.SetOwnLanguage) -> None:
    if await may_change_settings(update, context):
        result = await blocking(
            filter_service.set_own_language_only,
            context.deps,
            chat_id=chat_id_of(update),
            lang=context.lang,
            on=data.on,
        )
        await _answer(update, context, result, Notice.ERROR, "")


async def on_mute_tag(update: Update, context: BotContext, data: cb.MuteTag) -> None:
    if await may_change_settings(update, context):
        result = await blocking(
            filter_service.set_tag_muted,
            context.deps,
            chat_id=chat_id_of(update),
            lang=context.lang,
            tag_id=data.tag_id,
            muted=data.mute,
        )
        await _answer(update, context, result, Notice.ERROR, "")


async def on_clear_keywords(update: Update, context: BotContext, data: cb.ClearKeywords) -> None:
    if await may_change_settings(update, context):
        result = await blocking(
            filter_service.unmute_keyword,
            context.deps,
            chat_id=chat_id_of(update),
            lang=context.lang,
            text="",
        )
        await _answer(update, context, result, Notice.ERROR, "")


COMMANDS = [
    CommandHandler("filters", show_filters),
    CommandHandler("mute", mute),
    CommandHandler("unmute", unmute),
    CommandHandler("mutetag", mutetag),
    CommandHandler("unmutetag", unmutetag),
    CommandHandler("minscore", minscore),
]

CALLBACKS: dict[type, CallbackHandler] = {
    cb.SetMinScore: on_min_score,
    cb.SetOwnLanguage: on_own_language,
    cb.MuteTag: on_mute_tag,
    cb.ClearKeywords: on_clear_keywords,
}
