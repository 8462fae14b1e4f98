"""/subscribe, /unsubscribe, /language, /settings, /time, /timezone, /count and their buttons."""

from __future__ import annotations

from collections.abc import Callable

from telegram import Update
from telegram.ext import CommandHandler

from bot.catalog import channels, chats
from bot.catalog.chats import SettingError
from bot.config import parse_hhmm
from bot.context import BotContext
from bot.rules import is_language
from bot.views import callbacks as cb
from bot.views.common import Rendered
from bot.views.i18n import LANGUAGE_NAMES, timezone_label
from bot.views.notices import Notice, render_notice
from bot.views.settings import (
    render_count_picker,
    render_language_picker,
    render_settings,
    render_time_picker,
    render_timezone_picker,
)
from bot.views.subscribe import other_choice_text, render_subscribed
from handlers import filters as filter_handlers
from handlers import tags as tag_handlers
from handlers.commands import publish_chat_commands
from handlers.common import (
    CallbackHandler,
    CommandCallback,
    argument,
    blocking,
    chat_id_of,
    edit,
    may_change_settings,
    notify,
    send,
    too_long,
    topic_of,
)
from storage.schemas import ChatSettings

_ERRORS = {
    SettingError.BAD_TIME: Notice.BAD_TIME,
    SettingError.BAD_TIMEZONE: Notice.BAD_TIMEZONE,
    SettingError.BAD_COUNT: Notice.BAD_COUNT,
    SettingError.BAD_LANGUAGE: Notice.ERROR,
    SettingError.UNKNOWN_TAG: Notice.STALE_BUTTON,
}


def settings_screen(context: BotContext, settings: ChatSettings) -> Rendered:
    return render_settings(settings, context.deps.clock())


def _confirmation(context: BotContext, result: ChatSettings, notice: Notice) -> Rendered:
    if notice is Notice.SUBSCRIBED:
        return render_subscribed(result, context.deps.clock())
    zone = timezone_label(result.timezone, result.language, context.deps.clock())
    language = result.language if is_language(result.language) else "en"
    return render_notice(
        notice,
        result.language,
        time=result.digest_time,
        zone=zone,
        count=result.article_count,
        language=LANGUAGE_NAMES[language],
    )


async def _apply(
    update: Update,
    context: BotContext,
    result: ChatSettings | SettingError,
    notice: Notice,
    value: str = "",
) -> None:
    if isinstance(result, SettingError):
        await notify(update, context, _ERRORS[result], value=value)
        return
    context.lang = result.language
    if notice is Notice.LANGUAGE_SET:
        await publish_chat_commands(context.bot, result.chat_id, result.language)
    if update.callback_query is not None:
        subscribed_now = notice is Notice.SUBSCRIBED
        screen = _confirmation(context, result, notice) if subscribed_now else None
        await edit(update.callback_query, screen or settings_screen(context, result))
    else:
        await send(update, _confirmation(context, result, notice))


async def subscribe(update: Update, context: BotContext) -> None:
    await _set_subscribed(update, context, True)


async def unsubscribe(update: Update, context: BotContext) -> None:
    await _set_subscribed(update, context, False)


async def _set_subscribed(update: Update, context: BotContext, on: bool) -> None:
    if not await may_change_settings(update, context):
        return
    if on:  # in a forum the digest goes to the topic /subscribe came from (None: General)
        await blocking(
            channels.set_topic, context.deps, chat_id=chat_id_of(update), thread_id=topic_of(update)
        )
    current = await blocking(
        chats.chat_settings, context.deps, chat_id=chat_id_of(update), language=context.lang
    )
    if update.callback_query is None and current is not None and current.subscribed == on:
        notice = Notice.ALREADY_SUBSCRIBED if on else Notice.NOT_SUBSCRIBED
        await notify(update, context, notice)
        return
    result = await blocking(
        chats.set_subscribed,
        context.deps,
        chat_id=chat_id_of(update),
        language=context.lang,
        subscribed=on,
    )
    await _apply(update, context, result, Notice.SUBSCRIBED if on else Notice.UNSUBSCRIBED)


async def language(update: Update, context: BotContext) -> None:
    choice = argument(context)
    if not choice:
        await send(update, render_language_picker(context.lang, context.lang))
        return
    if await too_long(update, context, choice) or not await may_change_settings(update, context):
        return
    result = await blocking(
        chats.set_language, context.deps, chat_id=chat_id_of(update), language=choice
    )
    if isinstance(result, SettingError):
        await send(update, render_language_picker(context.lang, context.lang))
        return
    await _apply(update, context, result, Notice.LANGUAGE_SET)


async def settings(update: Update, context: BotContext) -> None:
    current = await blocking(
        chats.chat_settings, context.deps, chat_id=chat_id_of(update), language=context.lang
    )
    assert current is not None
    await send(update, settings_screen(context, current))


def _text_setting(
    setter: Callable[..., ChatSettings | SettingError], notice: Notice, picker: str
) -> CommandCallback:
    async def handler(update: Update, context: BotContext) -> None:
        value = argument(context)
        if not value:
            await _open_picker(update, context, picker)
            return
        if await too_long(update, context, value):
            return
        if not await may_change_settings(update, context):
            return
        result = await blocking(
            setter, context.deps, chat_id=chat_id_of(update), language=context.lang, text=value
        )
        await _apply(update, context, result, notice, value)

    return handler


def _picker(context: BotContext, current: ChatSettings, screen: str) -> Rendered:
    lang, now = context.lang, context.deps.clock()
    if screen == "lang":
        return render_language_picker(lang, current.language)
    if screen == "tz":
        return render_timezone_picker(lang, now, current.timezone)
    if screen == "time":
        return render_time_picker(lang, parse_hhmm(current.digest_time))
    if screen == "cnt":
        return render_count_picker(lang, current.article_count)
    return settings_screen(context, current)


def _subscribed_screen(context: BotContext, result: ChatSettings | SettingError) -> Rendered | None:
    if isinstance(result, SettingError):
        return None
    context.lang = result.language
    return render_subscribed(result, context.deps.clock())


async def _open_picker(update: Update, context: BotContext, screen: str) -> None:
    current = await blocking(
        chats.chat_settings, context.deps, chat_id=chat_id_of(update), language=context.lang
    )
    assert current is not None
    if screen == "tags":
        rendered = await tag_handlers.tags_screen(context, chat_id_of(update), 0)
    elif screen == "flt":
        rendered = await filter_handlers.filters_screen(context, chat_id_of(update))
    else:
        rendered = _picker(context, current, screen)
    if update.callback_query is not None:
        await edit(update.callback_query, rendered)
    else:
        await send(update, rendered)


# --- buttons ---------------------------------------------------------------------------


async def on_open_settings(update: Update, context: BotContext, data: cb.OpenSettings) -> None:
    await _open_picker(update, context, data.screen)


async def on_subscribe(update: Update, context: BotContext, data: cb.Subscribe) -> None:
    await _set_subscribed(update, context, data.on)


async def on_language(update: Update, context: BotContext, data: cb.SetLanguage) -> None:
    if await may_change_settings(update, context):
        result = await blocking(
            chats.set_language, context.deps, chat_id=chat_id_of(update), language=data.lang
        )
        await _apply(update, context, result, Notice.LANGUAGE_SET)


async def on_count(update: Update, context: BotContext, data: cb.SetCount) -> None:
    await _button_setting(update, context, chats.set_article_count, str(data.count))


async def on_time(update: Update, context: BotContext, data: cb.SetTime) -> None:
    await _button_setting(update, context, chats.set_digest_time, data.hhmm)


async def on_timezone(update: Update, context: BotContext, data: cb.SetTimezone) -> None:
    await _button_setting(update, context, chats.set_timezone, data.zone)


async def on_onboard_zone(update: Update, context: BotContext, data: cb.OnboardZone) -> None:
    await _onboard(update, context, chats.set_timezone, data.zone)


async def on_onboard_time(update: Update, context: BotContext, data: cb.OnboardTime) -> None:
    await _onboard(update, context, chats.set_digest_time, data.hhmm)


async def _onboard(
    update: Update,
    context: BotContext,
    setter: Callable[..., ChatSettings | SettingError],
    value: str,
) -> None:
    """A tap in the subscribe reply: change the setting, show the reply with the new words."""
    assert update.callback_query is not None
    if not await may_change_settings(update, context):
        return
    result = await blocking(
        setter, context.deps, chat_id=chat_id_of(update), language=context.lang, text=value
    )
    screen = _subscribed_screen(context, result)
    if screen is None:
        await notify(update, context, Notice.STALE_BUTTON)
        return
    await edit(update.callback_query, screen)


async def on_onboard_other(update: Update, context: BotContext, data: cb.OnboardOther) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer(other_choice_text(context.lang, data.what), show_alert=True)
    context.callback_answered = True


async def _button_setting(
    update: Update,
    context: BotContext,
    setter: Callable[..., ChatSettings | SettingError],
    value: str,
) -> None:
    if await may_change_settings(update, context):
        result = await blocking(
            setter, context.deps, chat_id=chat_id_of(update), language=context.lang, text=value
        )
        await _apply(update, context, result, Notice.ERROR, value)


COMMANDS = [
    CommandHandler("subscribe", subscribe),
    CommandHandler("unsubscribe", unsubscribe),
    CommandHandler("language", language),
    CommandHandler("settings", settings),
    CommandHandler("time", _text_setting(chats.set_digest_time, Notice.TIME_SET, "time")),
    CommandHandler("timezone", _text_setting(chats.set_timezone, Notice.TIMEZONE_SET, "tz")),
    CommandHandler("count", _text_setting(chats.set_article_count, Notice.COUNT_SET, "cnt")),
]

CALLBACKS: dict[type, CallbackHandler] = {
    cb.OpenSettings: on_open_settings,
    cb.Subscribe: on_subscribe,
    cb.SetLanguage: on_language,
    cb.SetCount: on_count,
    cb.SetTime: on_time,
    cb.SetTimezone: on_timezone,
    cb.OnboardZone: on_onboard_zone,
    cb.OnboardTime: on_onboard_time,
    cb.OnboardOther: on_onboard_other,
}
