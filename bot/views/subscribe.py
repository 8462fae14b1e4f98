"""The subscribe conversation: confirm the first delivery in local words, offer the likely
time zones and a few common times in one tap each, and say how to choose anything else."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from bot.rules import Lang
from bot.views import callbacks as cb
from bot.views.common import Rendered, button, button_rows, markup
from bot.views.i18n import format_day, get_zone, timezone_label, translator, zone_city
from bot.views.paging import escape
from storage.schemas import ChatSettings

# Zones a reader of each language most likely lives in, most likely first.
LIKELY_ZONES: Final[dict[Lang, tuple[str, ...]]] = {
    "en": ("Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Kolkata", "UTC"),
    "zh": ("Asia/Shanghai", "Asia/Taipei", "Asia/Hong_Kong", "Asia/Singapore"),
    "zh_Hant": ("Asia/Taipei", "Asia/Hong_Kong", "Asia/Macau", "Asia/Shanghai"),
}
ONBOARD_TIMES: Final[tuple[tuple[int, int], ...]] = ((7, 0), (8, 0), (9, 0), (12, 0), (18, 0))


def first_delivery(settings: ChatSettings, now: datetime) -> str:
    """'First digest tomorrow at 08:00, Taipei (UTC+08:00).' in the chat's language."""
    tr = translator(settings.language)
    _ = tr.gettext
    zone_label = timezone_label(settings.timezone, tr.lang, now)
    due = settings.next_digest_at
    if due is None:
        return _("The digest arrives every day at {time}, {zone}.").format(
            time=settings.digest_time, zone=zone_label
        )
    zone = get_zone(settings.timezone)
    days = (due.astimezone(zone).date() - now.astimezone(zone).date()).days
    if days <= 0:
        message = _("First digest today at {time}, {zone}.")
    elif days == 1:
        message = _("First digest tomorrow at {time}, {zone}.")
    else:
        message = _("First digest on {day} at {time}, {zone}.")
    return message.format(
        time=settings.digest_time, zone=zone_label, day=format_day(due, zone, tr.lang)
    )


def _mark(label: str, selected: bool) -> str:
    return f"✓ {label}" if selected else label


def render_subscribed(settings: ChatSettings, now: datetime) -> Rendered:
    """The answer to Subscribe: the first delivery, then one-tap zone and time choices."""
    tr = translator(settings.language)
    _ = tr.gettext
    lines = [
        "✅ <b>{}</b>".format(escape(_("Subscribed!"))),
        escape(first_delivery(settings, now)),
        "",
        escape(_("Not your time zone or time? Tap to change it:")),
    ]
    zones = [
        button(_mark(zone_city(z, tr.lang) or "UTC", z == settings.timezone), cb.OnboardZone(z))
        for z in LIKELY_ZONES[tr.lang]
    ]
    zones.append(button(_("🌍 Other…"), cb.OnboardOther("tz")))
    times = [
        button(
            _mark(f"{h:02d}:{m:02d}", f"{h:02d}:{m:02d}" == settings.digest_time),
            cb.OnboardTime(h, m),
        )
        for h, m in ONBOARD_TIMES
    ]
    times.append(button(_("⏰ Other…"), cb.OnboardOther("time")))
    rows = [*button_rows(zones, 3), *button_rows(times, 3)]
    rows.append([button(_("⚙️ Settings"), cb.OpenSettings("main"))])
    return "\n".join(lines), markup(rows)


def other_choice_text(lang: str, what: str) -> str:
    """Plain text (an alert): how to set a zone or time the buttons do not offer."""
    _ = translator(lang).gettext
    if what == "tz":
        return _(
            "Send /timezone with your city's zone, e.g. /timezone Europe/Paris, "
            "or an offset such as /timezone UTC+05:30."
        )
    return _("Send /time with any 24-hour time, e.g. /time 07:30.")
