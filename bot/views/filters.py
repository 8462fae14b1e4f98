"""The filters screen: muted tags and keywords, minimum score, only my language."""

from __future__ import annotations

from typing import Final

from telegram import InlineKeyboardButton

from bot.hanzi import to_traditional
from bot.views import callbacks as cb
from bot.views.common import Rendered, button, button_rows, markup
from bot.views.i18n import LANGUAGE_NAMES, join_items, translator
from bot.views.paging import escape, truncate
from storage.schemas import ChatFilters

MIN_SCORE_CHOICES: Final = (0, 40, 50, 60, 70, 80)
_SHOWN: Final = 20  # keywords or tags listed on the screen (all are applied)


def _tag(name: str, lang: str) -> str:
    return to_traditional(name) if lang == "zh_Hant" else name


def render_filters(filters: ChatFilters, lang: str) -> Rendered:
    """Every filter on one screen, with buttons for the ones a tap can change."""
    tr = translator(lang)
    _ = tr.gettext
    none = _("none")
    keywords = join_items(
        [f"“{truncate(k, 40, escaper=str)}”" for k in filters.keywords[:_SHOWN]], lang
    )
    names = [(tag_id, _tag(name, tr.lang)) for tag_id, name in filters.muted_tags]
    tags = join_items([truncate(n, 40, escaper=str) for _id, n in names[:_SHOWN]], lang)
    score = str(filters.min_score) if filters.min_score else _("off")
    own = _("on") if filters.own_language_only else _("off")
    lines = [
        "🔇 <b>{}</b>".format(escape(_("Filters"))),
        escape(_("Filtered articles are left out of the digest and of every list.")),
        "",
        escape(_("🔤 Muted keywords: {keywords}")).format(keywords=escape(keywords or none)),
        escape(_("🏷 Muted tags: {tags}")).format(tags=escape(tags or none)),
        escape(_("⭐ Minimum score: {score}")).format(score=escape(score)),
        escape(_("🌐 Only articles in {language}: {state}")).format(
            language=escape(LANGUAGE_NAMES[tr.lang]), state=escape(own)
        ),
        "",
        escape(
            _(
                "Mute a word or phrase with /mute chips, undo with /unmute chips. "
                "Mute a tag with /mutetag policy. Set a minimum with /minscore 60."
            )
        ),
    ]
    scores = [
        button(
            ("✓ " if n == filters.min_score else "") + (str(n) if n else _("no minimum")),
            cb.SetMinScore(n),
        )
        for n in MIN_SCORE_CHOICES
    ]
    rows: list[list[InlineKeyboardButton]] = [*button_rows(scores, 3)]
    own_label = (
        _("🌐 Show every language") if filters.own_language_only else _("🌐 Only my language")
    )
    rows.append([button(own_label, cb.SetOwnLanguage(not filters.own_language_only))])
    if filters.keywords:
        rows.append([button(_("🔤 Clear muted keywords"), cb.ClearKeywords())])
    for tag_id, name in names[:_SHOWN]:
        label = _("🔊 Unmute {tag}").format(tag=truncate(name, 30, escaper=str))
        rows.append([button(label, cb.MuteTag(tag_id, False))])
    rows.append([button(_("‹ Back to settings"), cb.OpenSettings("main"))])
    return "\n".join(lines), markup(rows)
