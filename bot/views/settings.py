"""The settings screen and its pickers (language, time zone, digest time, article count)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Final

from telegram import InlineKeyboardButton

from bot.rules import LANGUAGES, MAX_ARTICLE_COUNT, MIN_ARTICLE_COUNT
from bot.views import callbacks as cb
from bot.views.common import Rendered, button, button_rows, markup
from bot.views.i18n import LANGUAGE_NAMES, Translator, join_items, timezone_label, translator
from bot.views.paging import escape, truncate
from storage.schemas import ChatSettings

COMMON_TIMES: Final[tuple[str, ...]] = (
    "06:00",
    "07:00",
    "08:00",
    "09:00",
    "12:00",
    "18:00",
    "20:00",
    "22:00",
)
COMMON_TIMEZONES: Final[tuple[str, ...]] = (
    "UTC",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
)


def _back(tr: Translator) -> list[InlineKeyboardButton]:
    _ = tr.gettext
    return [button(_("‹ Back to settings"), cb.OpenSettings("main"))]


def render_settings(settings: ChatSettings, now: datetime | None = None) -> Rendered:
    """All settings on one screen, in the chat's own language; ``now`` shows the UTC offset."""
    tr = translator(settings.language)
    _ = tr.gettext
    zone = escape(settings.timezone)
    if now is not None:
        zone = escape(timezone_label(settings.timezone, tr.lang, now))
    followed = (
        escape(
            _("only {tags}").format(
                tags=join_items(
                    [truncate(n, 40, escaper=str) for n in settings.followed_tag_names[:20]],
                    tr.lang,
                )
            )
        )
        if settings.followed_tag_names
        else escape(_("all topics (you follow no tags)"))
    )
    state = _("on") if settings.subscribed else _("off")
    lines = [
        "⚙️ <b>{}</b>".format(escape(_("Settings"))),
        "",
        escape(_("🌐 Language: {language}")).format(language=escape(LANGUAGE_NAMES[tr.lang])),
        escape(_("🕒 Time zone: {zone}")).format(zone=zone),
        escape(_("⏰ Digest time: {time}")).format(time=settings.digest_time),
        escape(_("🔢 Articles per digest: {count}")).format(count=settings.article_count),
        escape(_("🔔 Daily digest: {state}")).format(state=escape(state)),
        escape(_("🏷 Topics: {tags}")).format(tags=followed),
    ]
    rows = [
        [
            button(_("🌐 Language"), cb.OpenSettings("lang")),
            button(_("🕒 Time zone"), cb.OpenSettings("tz")),
        ],
        [
            button(_("⏰ Digest time"), cb.OpenSettings("time")),
            button(_("🔢 Articles"), cb.OpenSettings("cnt")),
        ],
        [
            button(
                _("🔕 Unsubscribe") if settings.subscribed else _("🔔 Subscribe"),
                cb.Subscribe(not settings.subscribed),
            ),
            button(_("🏷 Tags"), cb.OpenSettings("tags")),
        ],
        [
            button(_("🔇 Filters"), cb.OpenSettings("flt")),
            button(_("📰 Digest now"), cb.DigestNow()),
        ],
    ]
    return "\n".join(lines), markup(rows)


def _check(label: str, selected: bool) -> str:
    return f"✓ {label}" if selected else label


def render_language_picker(lang: str, current: str | None = None) -> Rendered:
    tr = translator(lang)
    _ = tr.gettext
    text = "🌐 <b>{}</b>".format(escape(_("Choose your language")))
    buttons = [
        button(_check(LANGUAGE_NAMES[c], c == current), cb.SetLanguage(c)) for c in LANGUAGES
    ]
    return text, markup([buttons, _back(tr)])


def render_count_picker(lang: str, current: int | None = None) -> Rendered:
    tr = translator(lang)
    _ = tr.gettext
    text = "🔢 <b>{}</b>".format(escape(_("How many articles per digest?")))
    buttons = [
        button(_check(str(n), n == current), cb.SetCount(n))
        for n in range(MIN_ARTICLE_COUNT, MAX_ARTICLE_COUNT + 1)
    ]
    return text, markup([*button_rows(buttons, 5), _back(tr)])


def render_time_picker(lang: str, current: time | None = None) -> Rendered:
    tr = translator(lang)
    _ = tr.gettext
    text = "⏰ <b>{}</b>\n{}".format(
        escape(_("When should the digest arrive?")),
        escape(_("Times are in your time zone. For another time send e.g. /time 07:30.")),
    )
    now_hhmm = current.strftime("%H:%M") if current is not None else None
    buttons = []
    for hhmm in COMMON_TIMES:
        hour, minute = (int(x) for x in hhmm.split(":"))
        buttons.append(button(_check(hhmm, hhmm == now_hhmm), cb.SetTime(hour, minute)))
    return text, markup([*button_rows(buttons, 4), _back(tr)])


def render_timezone_picker(lang: str, now: datetime, current: str | None = None) -> Rendered:
    tr = translator(lang)
    _ = tr.gettext
    text = "🕒 <b>{}</b>\n{}".format(
        escape(_("Choose your time zone")),
        escape(_("Not listed? Send /timezone with a name such as Europe/Paris.")),
    )
    buttons = [
        button(_check(timezone_label(zone, tr.lang, now), zone == current), cb.SetTimezone(zone))
        for zone in COMMON_TIMEZONES
    ]
    return text, markup([*button_rows(buttons, 2), _back(tr)])
