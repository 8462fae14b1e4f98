"""Numbered article lists (/top, /latest, /tag, /search, the digest) and their headers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Final

from telegram import InlineKeyboardButton

from bot.rules import MESSAGE_LIMIT, utf16_len
from bot.views import callbacks as cb
from bot.views.common import (
    Rendered,
    article_summary,
    article_title,
    button,
    markup,
    scores_line,
    tag_name,
)
from bot.views.i18n import Translator, format_day, translator
from bot.views.newsroom import also_covered
from bot.views.paging import escape, truncate
from storage.schemas import ArticleView, TagInfo

LIST_ROW: Final = 5  # 📖/↗ buttons per row in lists (readable on phones)


def digest_header(lang: str, tz: tzinfo | str, now: datetime) -> str:
    """HTML header line for the daily digest, e.g. 'Your AI digest · Wed, Nov 25'."""
    _ = translator(lang).gettext
    return "📰 <b>{}</b>".format(
        escape(_("Your AI digest · {day}").format(day=format_day(now, tz, lang)))
    )


def top_header(lang: str) -> str:
    _ = translator(lang).gettext
    return "🔥 <b>{}</b>".format(escape(_("Top stories")))


def latest_header(lang: str) -> str:
    _ = translator(lang).gettext
    return "🆕 <b>{}</b>".format(escape(_("Latest articles")))


def tag_header(tag: TagInfo, lang: str) -> str:
    _ = translator(lang).gettext
    name = truncate(tag_name(tag, lang), 100)
    return "🏷 <b>{}</b>".format(escape(_("Articles tagged “{tag}”").format(tag=name)))


def search_header(query: str, lang: str) -> str:
    _ = translator(lang).gettext
    words = truncate(query, 100)
    return "🔎 <b>{}</b>".format(escape(_("Search results for “{query}”").format(query=words)))


# (title cap, summary cap, tags cap) tried in order until the list fits one message.
_LIST_BUDGETS: Final[tuple[tuple[int, int, int], ...]] = (
    (240, 280, 3),
    (240, 180, 3),
    (200, 120, 3),
    (160, 80, 2),
    (140, 0, 2),
    (100, 0, 1),
    (60, 0, 0),
)


def _list_item(
    number: int, article: ArticleView, tr: Translator, title_max: int, summary_max: int, tags: int
) -> str:
    title = truncate(article_title(article, tr.lang), title_max)
    head = f"<b>{number}. {escape(title)}</b>"
    meta = scores_line(article, tr, labels=False)
    names = [truncate(tag_name(t, tr.lang), 40) for t in article.tags[:tags]]
    if names:
        meta += " · 🏷 " + escape(", ".join(names))
    lines = [head, meta]
    covered = also_covered(article, tr)
    if covered:
        lines.append(covered)
    if summary_max > 0:
        summary = truncate(article_summary(article, tr.lang), summary_max)
        if summary:
            lines.append(escape(summary))
    return "\n".join(lines)


def render_article_list(
    header_html: str,
    articles: Sequence[ArticleView],
    lang: str,
    *,
    footer_html: str | None = None,
) -> Rendered:
    """Numbered list for /top, /latest, /tag, /search and the digest.

    ``header_html`` must already be safe HTML (use :func:`digest_header`, :func:`top_header`,
    ...). Buttons: '📖 N' opens article N, '↗ N' shares it. Summaries (then titles, then
    tags) shrink until the message fits 4096 UTF-16 units.
    """
    tr = translator(lang)
    _ = tr.gettext
    if not articles:
        return header_html + "\n\n" + escape(_("No articles yet — please check back later.")), None
    hint = escape(_("📖 read · ↗ share"))
    tail = "\n\n" + (footer_html if footer_html is not None else f"<i>{hint}</i>")
    text = ""
    for title_max, summary_max, tags in _LIST_BUDGETS:
        items = [
            _list_item(i, a, tr, title_max, summary_max, tags)
            for i, a in enumerate(articles, start=1)
        ]
        text = header_html + "\n\n" + "\n\n".join(items) + tail
        if utf16_len(text) <= MESSAGE_LIMIT:
            break
    else:  # pathological header/item count: hard cap rather than fail to send
        text = header_html[:200] + "\n\n" + escape(_("Too many articles to show at once."))
    read = [button(f"📖 {i}", cb.ArticlePage(a.id, 0)) for i, a in enumerate(articles, 1)]
    share = [button(f"↗ {i}", cb.Share(a.id)) for i, a in enumerate(articles, 1)]
    rows: list[list[InlineKeyboardButton]] = []
    for start in range(0, len(articles), LIST_ROW):
        rows.append(read[start : start + LIST_ROW])
        rows.append(share[start : start + LIST_ROW])
    return text, markup(rows)
