"""The operators' /stats screen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bot.rules import is_language
from bot.views.common import Rendered
from bot.views.i18n import LANGUAGE_NAMES, N_, format_datetime, format_number, translator
from bot.views.newsroom import newsroom_lines
from bot.views.paging import escape
from storage.schemas import NewsroomState, StatusReport

_CHAT_KINDS: Final[dict[str, str]] = {
    "private": N_("private chats"),
    "group": N_("groups"),
    "supergroup": N_("supergroups"),
    "channel": N_("channels"),
}
_OUTBOX_STATES: Final[dict[str, str]] = {
    "pending": N_("pending"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "unknown": N_("unknown"),
    "skipped": N_("skipped"),
}


def _decimal(value: float | None, lang: str) -> str:
    return "–" if value is None else format_number(round(value, 1), lang)


def render_stats(
    report: StatusReport,
    subscribers: Sequence[tuple[str | None, str, int]],
    articles: int,
    lang: str,
    newsroom: NewsroomState | None = None,
) -> Rendered:
    """The admins' /stats screen: subscribers by language and chat type, articles, the
    newsroom, runs."""
    tr = translator(lang)
    _ = tr.gettext
    lines = ["📊 <b>{}</b>".format(escape(_("Statistics"))), ""]
    total = sum(n for _lang, _kind, n in subscribers)
    lines.append(escape(_("Subscribed chats: {n}").format(n=format_number(total, lang))))
    for chat_lang, kind, n in sorted(subscribers, key=lambda row: (-row[2], row[1])):
        language = LANGUAGE_NAMES[chat_lang] if is_language(chat_lang) else _("not chosen yet")
        kind_name = tr.marked(_CHAT_KINDS[kind]) if kind in _CHAT_KINDS else kind
        lines.append(escape(f"• {language} · {kind_name}: {format_number(n, lang)}"))
    lines.append(escape(_("Deactivated chats: {n}").format(n=format_number(report.inactive, lang))))
    lines.append(escape(_("Articles: {n}").format(n=format_number(articles, lang))))
    states = ", ".join(
        tr.marked(_OUTBOX_STATES.get(state, state)) + " " + format_number(n, lang)
        for state, n in report.states.items()
        if n
    )
    lines.append(escape(_("Outbox: {states}").format(states=states or "–")))
    lines += newsroom_lines(newsroom, lang)
    lines += ["", "<b>{}</b>".format(escape(_("Recent digest runs")))]
    for run in report.runs:
        started = format_datetime(run.started_at, "UTC", lang, "short")
        lines.append(
            escape(
                _(
                    "{start} UTC · planned {planned} · sent {sent} · failed {failed} · "
                    "unknown {unknown} · skipped {skipped} · {seconds} s · {rate} msg/s"
                ).format(
                    start=started,
                    planned=run.planned,
                    sent=run.sent,
                    failed=run.failed,
                    unknown=run.unknown,
                    skipped=run.skipped,
                    seconds=_decimal(run.duration_s, lang),
                    rate=_decimal(run.msgs_per_s, lang),
                )
            )
        )
    if not report.runs:
        lines.append(escape(_("No digest runs yet.")))
    return "\n".join(lines), None
