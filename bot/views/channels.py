"""Channel screens, shown in the admin's private chat: setup, settings and pickers, the list of
the admin's channels, and the notices about a channel or a forum topic the digest lost.

Every button is a :class:`~bot.views.callbacks.ChannelAction` naming the channel (the chat the
button is pressed in is the admin's private chat, not the channel).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from telegram import InlineKeyboardButton

from bot.rules import LANGUAGES, MAX_ARTICLE_COUNT, MIN_ARTICLE_COUNT
from bot.views import callbacks as cb
from bot.views.common import Rendered, button, button_rows, markup, tag_name
from bot.views.i18n import LANGUAGE_NAMES, Translator, timezone_label, translator
from bot.views.paging import escape, truncate
from bot.views.settings import COMMON_TIMES, COMMON_TIMEZONES
from storage.schemas import ChatSettings, TagInfo


def _act(chat_id: int, key: cb.ChannelKey, value: str) -> cb.ChannelAction:
    return cb.ChannelAction(chat_id, key, value)


def _title(title: str) -> str:
    return escape(truncate(title, 80))


def _state(tr: Translator, settings: ChatSettings) -> str:
    _ = tr.gettext
    return _("on") if settings.subscribed else _("off")


def render_channel_settings(
    settings: ChatSettings, title: str, lang: str, now: datetime, *, setup: bool = False
) -> Rendered:
    """The channel's settings in the admin's language; the digest itself uses the channel's."""
    tr = translator(lang)
    _ = tr.gettext
    if setup:
        head = escape(_("Set up the daily digest for {channel}")).format(channel=_title(title))
    else:
        head = escape(_("Daily digest for {channel}")).format(channel=_title(title))
    followed = (
        escape(", ".join(truncate(n, 40) for n in settings.followed_tag_names[:20]))
        if settings.followed_tag_names
        else escape(_("none"))
    )
    zone = escape(timezone_label(settings.timezone, tr.lang, now))
    channel_language = LANGUAGE_NAMES["zh" if settings.language == "zh" else "en"]
    lines = [
        f"📣 <b>{head}</b>",
        "",
        escape(_("🌐 Language: {language}")).format(language=escape(channel_language)),
        escape(_("🕒 Time zone: {zone}")).format(zone=zone),
        escape(_("⏰ Digest time: {time}")).format(time=settings.digest_time),
        escape(_("🔢 Articles per digest: {count}")).format(count=settings.article_count),
        escape(_("🔔 Daily digest: {state}")).format(state=escape(_state(tr, settings))),
        escape(_("🏷 Followed tags: {tags}")).format(tags=followed),
    ]
    if setup or not settings.subscribed:
        lines += ["", escape(_("Tap “Turn on” and the channel gets its digest every day."))]
    chat_id = settings.chat_id
    toggle = (
        button(_("🔕 Turn off"), _act(chat_id, "o", "0"))
        if settings.subscribed
        else button(_("🔔 Turn on"), _act(chat_id, "o", "1"))
    )
    rows = [
        [
            button(_("🌐 Language"), _act(chat_id, "s", "lang")),
            button(_("🕒 Time zone"), _act(chat_id, "s", "tz")),
        ],
        [
            button(_("⏰ Digest time"), _act(chat_id, "s", "time")),
            button(_("🔢 Articles"), _act(chat_id, "s", "cnt")),
        ],
        [toggle, button(_("🏷 Tags"), _act(chat_id, "s", "tags"))],
    ]
    return "\n".join(lines), markup(rows)


# Tags offered on the channel's tag screen (most used first); more would not fit one keyboard.
CHANNEL_TAGS_MAX = 24


def render_channel_tags(
    settings: ChatSettings, title: str, lang: str, tags: Sequence[TagInfo]
) -> Rendered:
    """Tags the channel follows (✓); a channel that follows none gets every tag."""
    tr = translator(lang)
    _ = tr.gettext
    chat_id = settings.chat_id
    buttons = [
        button(
            _check(truncate(tag_name(t, tr.lang), 30), t.id in settings.followed_tag_ids),
            _act(chat_id, "f", f"{t.id}.{0 if t.id in settings.followed_tag_ids else 1}"),
        )
        for t in tags[:CHANNEL_TAGS_MAX]
    ]
    question = _("Tap a tag to follow or unfollow it. Following none means every tag.")
    text = f"📣 <b>{_title(title)}</b>\n{escape(question)}"
    back = [button(_("‹ Back to settings"), _act(chat_id, "s", "main"))]
    return text, markup([*button_rows(buttons, 2), back])


def _check(label: str, selected: bool) -> str:
    return f"✓ {label}" if selected else label


def render_channel_picker(
    settings: ChatSettings, title: str, lang: str, now: datetime, screen: str
) -> Rendered:
    """One picker (language, time zone, time, count) for the channel."""
    tr = translator(lang)
    _ = tr.gettext
    chat_id = settings.chat_id
    buttons: list[InlineKeyboardButton]
    if screen == "lang":
        question, width = _("Choose your language"), 2
        buttons = [
            button(_check(LANGUAGE_NAMES[c], c == settings.language), _act(chat_id, "l", c))
            for c in LANGUAGES
        ]
    elif screen == "tz":
        question, width = _("Choose your time zone"), 2
        buttons = [
            button(
                _check(timezone_label(z, tr.lang, now), z == settings.timezone),
                _act(chat_id, "z", z),
            )
            for z in COMMON_TIMEZONES
        ]
    elif screen == "time":
        question, width = _("When should the digest arrive?"), 4
        buttons = [
            button(_check(t, t == settings.digest_time), _act(chat_id, "t", t.replace(":", "")))
            for t in COMMON_TIMES
        ]
    else:
        question, width = _("How many articles per digest?"), 5
        buttons = [
            button(_check(str(n), n == settings.article_count), _act(chat_id, "n", str(n)))
            for n in range(MIN_ARTICLE_COUNT, MAX_ARTICLE_COUNT + 1)
        ]
    text = f"📣 <b>{_title(title)}</b>\n{escape(question)}"
    back = [button(_("‹ Back to settings"), _act(chat_id, "s", "main"))]
    return text, markup([*button_rows(buttons, width), back])


def render_channel_list(
    channels: Sequence[tuple[ChatSettings, str]], lang: str, now: datetime
) -> Rendered:
    """/channels: the channels this person administers with the bot, each with its settings."""
    tr = translator(lang)
    _ = tr.gettext
    if not channels:
        text = escape(
            _(
                "You have no channel with this bot yet. Add me to a channel as an administrator "
                "who can post messages, and I will send you its setup here."
            )
        )
        return text, None
    lines = ["📣 <b>{}</b>".format(escape(_("Your channels")))]
    rows = []
    for settings, title in channels:
        summary = _("{state} · {time} {zone} · {count} articles · {language}").format(
            state=_state(tr, settings),
            time=settings.digest_time,
            zone=timezone_label(settings.timezone, tr.lang, now),
            count=settings.article_count,
            language=LANGUAGE_NAMES["zh" if settings.language == "zh" else "en"],
        )
        lines += ["", f"<b>{_title(title)}</b>", escape(summary)]
        if settings.followed_tag_names:
            tags = ", ".join(truncate(n, 40) for n in settings.followed_tag_names[:20])
            lines.append(escape(_("🏷 Followed tags: {tags}")).format(tags=escape(tags)))
        label = _("⚙️ {channel}").format(channel=truncate(title, 40))
        rows.append([button(label, _act(settings.chat_id, "s", "main"))])
    return "\n".join(lines), markup(rows)


def channel_lost_text(title: str, lang: str) -> str:
    _ = translator(lang).gettext
    return escape(
        _(
            "I can no longer post in {channel}, so its daily digest is off. Make me an "
            "administrator who can post messages to turn it back on."
        )
    ).format(channel=_title(title))


def channel_admin_only_text(title: str, lang: str) -> str:
    _ = translator(lang).gettext
    return _("Only administrators of {channel} can change its digest.").format(
        channel=truncate(title, 80)
    )


def channel_cannot_post_text(title: str, lang: str) -> str:
    _ = translator(lang).gettext
    return _("I can't post in {channel}: make me an administrator who can post messages.").format(
        channel=truncate(title, 80)
    )


def topic_closed_text(lang: str) -> str:
    _ = translator(lang).gettext
    return escape(
        _(
            "The topic this group's digest went to is closed or gone, so the digest arrives "
            "here now. An administrator can send /subscribe in another topic to move it."
        )
    )
