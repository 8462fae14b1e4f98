"""What readers see of the newsroom: labels on machine-written text, "also covered by", the
rationale of generated scores, and the newsroom lines of /stats. Pure: data in, HTML out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bot.views.i18n import Translator, format_number, translator
from bot.views.paging import escape, truncate
from storage.schemas import ArticleView, NewsroomState

_COVERED_MAX: Final = 3  # sources named; more are counted
_RATIONALE_MAX: Final = 160
_SCORE_ICONS: Final = (("hot", "🔥"), ("quality", "⭐"), ("impact", "💥"))


def translated_note(
    article: ArticleView, shown: str, tr: Translator, fields: Sequence[str]
) -> str | None:
    """'Machine-translated' when any of ``fields`` shown in ``shown`` is the model's
    translation of the source (text it wrote from scratch gets the AI disclaimer instead)."""
    _ = tr.gettext
    if any(article.origin(shown, name) == "translated" for name in fields):
        return "<i>" + escape(_("🌐 Machine-translated by AI")) + "</i>"
    return None


def analysis_generated(article: ArticleView, shown: str) -> bool:
    """True when the analysis shown was written by the model (not translated from the source)."""
    return article.origin(shown, "analysis") == "generated"


def also_covered(article: ArticleView, tr: Translator) -> str | None:
    """'Also covered by A, B and 2 more' for a story several feeds carry (HTML)."""
    _ = tr.gettext
    names = [truncate(" ".join(n.split()), 40) for n in article.also_covered_by if n.strip()]
    if not names:
        return None
    shown = ", ".join(names[:_COVERED_MAX])
    rest = len(names) - _COVERED_MAX
    if rest > 0:
        text = _("Also covered by {sources} and {n} more").format(
            sources=shown, n=format_number(rest, tr.lang)
        )
    else:
        text = _("Also covered by {sources}").format(sources=shown)
    return "🗞 " + escape(text)


def rationale_lines(article: ArticleView, tr: Translator) -> list[str]:
    """One line per generated score saying why, in the reader's language, under a label
    saying the scores are the model's (HTML; nothing for a publisher's scores)."""
    _ = tr.gettext
    lines = []
    for name, icon in _SCORE_ICONS:
        texts = article.rationales.get(name) or {}
        why = texts.get(tr.lang) or next(iter(texts.values()), "")
        if why.strip():
            lines.append(f"{icon} <i>{escape(truncate(' '.join(why.split()), _RATIONALE_MAX))}</i>")
    if not lines:
        return []
    return ["<i>" + escape(_("🤖 Scores estimated by AI:")) + "</i>", *lines]


def newsroom_lines(state: NewsroomState | None, lang: str) -> list[str]:
    """The /stats lines: articles enriched, pending, failed; tokens today against the budget."""
    if state is None:
        return []
    _ = translator(lang).gettext
    if not state.enabled:
        return [escape(_("Newsroom: off"))]
    return [
        escape(
            _("Newsroom: {enriched} enriched · {pending} pending · {failed} failed").format(
                enriched=format_number(state.enriched, lang),
                pending=format_number(state.pending, lang),
                failed=format_number(state.failed, lang),
            )
        ),
        escape(
            _("Model tokens today: {used} of {budget}").format(
                used=format_number(state.tokens_today, lang),
                budget=format_number(state.daily_budget, lang),
            )
        ),
    ]
