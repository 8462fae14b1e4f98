"""One article's detail view, its analysis split into pages that each fit one message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from telegram import InlineKeyboardButton

from bot.rules import MESSAGE_LIMIT, utf16_len
from bot.views import callbacks as cb
from bot.views.common import (
    Rendered,
    article_title,
    button,
    content_language,
    disclaimer,
    language_note,
    markup,
    pick,
    safe_url,
    scores_line,
    source_link,
    tag_name,
    times_line,
)
from bot.views.i18n import Translator, translator
from bot.views.newsroom import also_covered, analysis_generated, rationale_lines, translated_note
from bot.views.paging import escape, paginate, truncate
from storage.schemas import ArticleView

# Caps on article text inside a single message (escaped UTF-16 units).
_DETAIL_TITLE_MAX: Final = 400
# Summary caps tried in order until page 1 keeps at least _DETAIL_MIN_CHUNK for analysis.
_DETAIL_SUMMARY_STEPS: Final = (1500, 1000, 600, 300, 0)
_DETAIL_MIN_CHUNK: Final = 800
# Longer source URLs stay on the button only; in the text they would eat the page.
_DETAIL_TAGS_MAX: Final = 8
# Room kept for the parts of a detail page that change over time (relative times, views)
# and for the page indicator, so the page split never depends on ``now``.
_VOLATILE_RESERVE: Final = 160
_INDICATOR_RESERVE: Final = 48


@dataclass(frozen=True, slots=True)
class _DetailParts:
    title: str
    note: str | None
    scores: str
    tags: str | None
    source_name: str | None
    summary: str | None
    footer: str
    translated: str | None = None
    rationale: tuple[str, ...] = ()
    covered: str | None = None


def _detail_parts(article: ArticleView, tr: Translator, summary_max: int) -> _DetailParts:
    shown = content_language(article, tr.lang)
    title = truncate(article_title(article, tr.lang), _DETAIL_TITLE_MAX)
    names = [truncate(tag_name(t, tr.lang), 40) for t in article.tags[:_DETAIL_TAGS_MAX]]
    summary = truncate(" ".join(pick(article.summary, shown).split()), summary_max)
    footer_lines = []
    if article.ai_generated or analysis_generated(article, shown):
        footer_lines.append(disclaimer(tr))
    link = source_link(article, tr)
    if link:
        footer_lines.append(link)
    source = " ".join((article.source or "").split())
    note = language_note(article, tr)
    return _DetailParts(
        title=f"<b>{escape(title)}</b>",
        note=f"<i>{escape(note)}</i>" if note else None,
        scores=escape(scores_line(article, tr, labels=True)),
        tags="🏷 " + escape(" · ".join(names)) if names else None,
        source_name="📰 " + escape(truncate(source, 100)) if source else None,
        summary=escape(summary) if summary else None,
        footer="\n".join(footer_lines),
        translated=translated_note(article, shown, tr, ("title", "summary", "analysis")),
        rationale=tuple(rationale_lines(article, tr)),
        covered=also_covered(article, tr),
    )


def _compose_detail(
    parts: _DetailParts,
    *,
    first: bool,
    times: str,
    section: str | None,
    chunk: str,
) -> str:
    blocks: list[str] = []
    head = [parts.title]
    if parts.note:
        head.append(parts.note)
    if parts.translated:
        head.append(parts.translated)
    if first:
        head.append(parts.scores)
        head.extend(parts.rationale)
        if parts.tags:
            head.append(parts.tags)
        if times:
            head.append(times)
        if parts.source_name:
            head.append(parts.source_name)
        if parts.covered:
            head.append(parts.covered)
    blocks.append("\n".join(head))
    if first and parts.summary:
        blocks.append(parts.summary)
    if section is not None:
        # Expandable: the detail view opens compact and the reader expands the analysis in place.
        quoted = f"<blockquote expandable>{chunk}</blockquote>" if chunk else ""
        blocks.append(section + ("\n" + quoted if quoted else ""))
    if parts.footer:
        blocks.append(parts.footer)
    return "\n\n".join(blocks)


@dataclass(frozen=True, slots=True)
class _Layout:
    parts: _DetailParts
    pages: list[str]


def _layout(article: ArticleView, tr: Translator) -> _Layout:
    """Choose the summary length and split the analysis so every page fits.

    Budgets are computed from the fixed parts plus constant reserves for the time-dependent
    line and the page indicator, so the split depends only on the article and language.
    """
    analysis = pick(article.analysis, content_language(article, tr.lang))
    section = "📝 <b>" + escape(_section_title(tr, 999, 999)) + "</b>"
    # The "\n" between the section heading and the chunk, and the blockquote tags around it.
    newline = 1 + len("<blockquote expandable></blockquote>")
    parts = _detail_parts(article, tr, 0)
    first_limit = 0
    for summary_max in _DETAIL_SUMMARY_STEPS:
        parts = _detail_parts(article, tr, summary_max)
        fixed = utf16_len(_compose_detail(parts, first=True, times="", section=section, chunk=""))
        first_limit = MESSAGE_LIMIT - fixed - _VOLATILE_RESERVE - _INDICATOR_RESERVE - newline
        if first_limit >= _DETAIL_MIN_CHUNK:
            break
    rest_fixed = utf16_len(_compose_detail(parts, first=False, times="", section=section, chunk=""))
    limit = MESSAGE_LIMIT - rest_fixed - _INDICATOR_RESERVE - newline
    pages = paginate(
        analysis, max(limit, _DETAIL_MIN_CHUNK), first_limit=max(first_limit, _DETAIL_MIN_CHUNK)
    )
    return _Layout(parts, pages)


def analysis_pages(article: ArticleView, lang: str) -> list[str]:
    """Plain-text analysis pages for ``article`` as shown to a ``lang`` reader.

    Depends only on the article and language (not on time), so ``a:<id>:<page>`` buttons
    stay valid while the article is unchanged.
    """
    return _layout(article, translator(lang)).pages


def _section_title(tr: Translator, page: int, total: int) -> str:
    _ = tr.gettext
    if total <= 1:
        return _("Analysis")
    return _("Analysis · page {page}/{total}").format(page=page, total=total)


def render_article_detail(
    article: ArticleView,
    lang: str,
    page: int = 0,
    now: datetime | None = None,
) -> Rendered:
    """One page of an article, mirroring the web page.

    ``page`` is zero-based and clamped to the available pages. ``now`` (aware) drives the
    relative times; without it they are omitted.
    """
    tr = translator(lang)
    _ = tr.gettext
    layout = _layout(article, tr)
    parts, pages = layout.parts, layout.pages
    total = max(1, len(pages))
    page = min(max(page, 0), total - 1)
    first = page == 0
    times = times_line(article, tr, now) if now is not None else ""
    section = None
    if pages:
        section = "📝 <b>" + escape(_section_title(tr, page + 1, total)) + "</b>"
    chunk = escape(pages[page]) if pages else ""
    text = _compose_detail(parts, first=first, times=times, section=section, chunk=chunk)
    if utf16_len(text) > MESSAGE_LIMIT:  # only if the reserve was exceeded; drop volatile bits
        text = _compose_detail(parts, first=first, times="", section=section, chunk=chunk)

    rows: list[list[InlineKeyboardButton]] = []
    if total > 1:
        nav: list[InlineKeyboardButton] = []
        if page > 0:
            nav.append(button("‹", cb.ArticlePage(article.id, page - 1)))
        nav.append(button(f"{page + 1}/{total}", cb.Noop()))
        if page < total - 1:
            nav.append(button("›", cb.ArticlePage(article.id, page + 1)))
        rows.append(nav)
    actions = [button(_("↗ Share"), cb.Share(article.id))]
    url = safe_url(article.url)
    if url:
        actions.append(InlineKeyboardButton(_("🔗 Source"), url=url))
    rows.append(actions)
    return text, markup(rows)
