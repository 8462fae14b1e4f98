"""Article lists (/top, /latest, /tag, /search, the digest) and their headers.

Every item shows the article's number — the one /article, /share and the 📖/↗ buttons take
(its id, e.g. #42) — its age, and a mark when it is not in the reader's language.
"""

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
    content_language,
    markup,
    scores_line,
    tag_name,
)
from bot.views.i18n import Translator, format_day, format_relative, join_items, translator
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


def top_header(lang: str, hours: int = 24) -> str:
    """'Top stories' and the window it ranks (the last ``hours`` hours)."""
    tr = translator(lang)
    window = tr.ngettext("best of the last {n} hour", "best of the last {n} hours", hours)
    return "🔥 <b>{}</b>\n<i>{}</i>".format(
        escape(tr.gettext("Top stories")), escape(window.format(n=hours))
    )


def latest_header(lang: str) -> str:
    _ = translator(lang).gettext
    return "🆕 <b>{}</b>".format(escape(_("Latest articles")))


def tag_header(tag: TagInfo, lang: str, days: int) -> str:
    tr = translator(lang)
    name = truncate(tag_name(tag, lang), 100)
    title = tr.gettext("Articles tagged “{tag}”").format(tag=name)
    window = tr.ngettext("best of the last {n} day", "best of the last {n} days", days)
    return f"🏷 <b>{escape(title)}</b>\n<i>{escape(window.format(n=days))}</i>"


def search_header(query: str, lang: str, *, typed: bool = False) -> str:
    """Search results header; ``typed``: the words came as a plain message, not /search."""
    _ = translator(lang).gettext
    words = truncate(query, 100)
    header = "🔎 <b>{}</b>".format(escape(_("Search results for “{query}”").format(query=words)))
    if typed:
        hint = _("Any message you send me is a search. /help lists the commands.")
        header += f"\n<i>{escape(hint)}</i>"
    return header


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


def _age(article: ArticleView, tr: Translator, now: datetime | None) -> str:
    if now is not None:
        return format_relative(article.published_at, now, tr.lang)
    return format_day(article.published_at, "UTC", tr.lang)


def language_mark(article: ArticleView, tr: Translator) -> str | None:
    """'in Chinese' / '英文' when the item is shown in a language other than the reader's."""
    _ = tr.gettext
    shown = content_language(article, tr.lang)
    if shown == tr.lang:
        return None
    return _("in English") if shown == "en" else _("in Chinese")


def _list_item(
    article: ArticleView,
    tr: Translator,
    title_max: int,
    summary_max: int,
    tags: int,
    now: datetime | None,
) -> str:
    title = truncate(article_title(article, tr.lang), title_max)
    head = f"<b>#{article.id} · {escape(title)}</b>"
    meta = scores_line(article, tr, labels=False) + " · 🕒 " + escape(_age(article, tr, now))
    mark = language_mark(article, tr)
    if mark:
        meta += " · 🌐 " + escape(mark)
    names = [truncate(tag_name(t, tr.lang), 40) for t in article.tags[:tags]]
    if names:
        meta += " · 🏷 " + escape(join_items(names, tr.lang))
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
    now: datetime | None = None,
) -> Rendered:
    """List for /top, /latest, /tag, /search and the digest.

    ``header_html`` must already be safe HTML (use :func:`digest_header`, :func:`top_header`,
    ...). Items are numbered by article id (#42), the number /article and /share take; buttons
    '📖 42' open it, '↗ 42' share it. Ages are relative to ``now`` (aware), else a date.
    Summaries (then titles, then tags) shrink until the message fits 4096 UTF-16 units.
    """
    tr = translator(lang)
    _ = tr.gettext
    if not articles:
        return header_html + "\n\n" + escape(_("No articles yet — please check back later.")), None
    hint = escape(_("📖 read · ↗ share · or send /article with the number"))
    tail = "\n\n" + (footer_html if footer_html is not None else f"<i>{hint}</i>")
    text = ""
    for title_max, summary_max, tags in _LIST_BUDGETS:
        items = [_list_item(a, tr, title_max, summary_max, tags, now) for a in articles]
        text = header_html + "\n\n" + "\n\n".join(items) + tail
        if utf16_len(text) <= MESSAGE_LIMIT:
            break
    else:  # pathological header/item count: hard cap rather than fail to send
        text = header_html[:200] + "\n\n" + escape(_("Too many articles to show at once."))
    read = [button(f"📖 {a.id}", cb.ArticlePage(a.id, 0)) for a in articles]
    share = [button(f"↗ {a.id}", cb.Share(a.id)) for a in articles]
    rows: list[list[InlineKeyboardButton]] = []
    for start in range(0, len(articles), LIST_ROW):
        rows.append(read[start : start + LIST_ROW])
        rows.append(share[start : start + LIST_ROW])
    return text, markup(rows)
