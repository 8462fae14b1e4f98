"""An article's detail view as one rich message (Bot API 10.1 ``sendRichMessage``).

The shape of the seed web page: title, a Hot / Quality / Impact table, tags and times, the
summary, the whole analysis folded under "Analysis", the AI disclaimer as a footer, with Share
and Source buttons. Only the subset of rich HTML described in docs/rich-messages.md is used.
``None`` means the article does not fit one rich message: the caller sends the paged view.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from telegram import InlineKeyboardButton

from bot.rules import RICH_MAX_BLOCKS, RICH_MESSAGE_LIMIT
from bot.views import callbacks as cb
from bot.views.common import (
    Rendered,
    article_title,
    button,
    content_language,
    language_note,
    markup,
    pick,
    safe_url,
    tag_name,
    times_line,
)
from bot.views.i18n import translator
from bot.views.newsroom import also_covered, analysis_generated, rationale_lines, translated_note
from bot.views.paging import escape
from storage.schemas import ArticleView

_PARAGRAPH_BREAK: Final = re.compile(r"\n\s*\n|\n")
# Blocks other than analysis paragraphs (title, table and its rows, lines, details, footer).
_FIXED_BLOCKS: Final = 16


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def render_article_rich(
    article: ArticleView, lang: str, now: datetime | None = None
) -> Rendered | None:
    """The rich detail HTML and its keyboard, or None when it would not fit one message.

    The limit is applied to the whole HTML source, markup included: stricter than Telegram's
    (which counts the text only), so whatever is sent is accepted.
    """
    tr = translator(lang)
    _ = tr.gettext
    shown = content_language(article, tr.lang)
    parts = [f"<h2>{escape(article_title(article, tr.lang))}</h2>"]
    note = language_note(article, tr)
    if note:
        parts.append(f"<p><i>{escape(note)}</i></p>")
    # The newsroom's labels are Telegram HTML fragments (text and <i>): valid paragraph text.
    translated = translated_note(article, shown, tr, ("title", "summary", "analysis"))
    if translated:
        parts.append(f"<p>{translated}</p>")
    heads = (_("🔥 Hot"), _("⭐ Quality"), _("💥 Impact"))
    values = (article.hot, article.quality, article.impact)
    parts.append(
        "<table bordered><tr>"
        + "".join(f"<th>{escape(h)}</th>" for h in heads)
        + "</tr><tr>"
        + "".join(f'<td align="center">{v}</td>' for v in values)
        + "</tr></table>"
    )
    parts.extend(f"<p>{line}</p>" for line in rationale_lines(article, tr))
    names = [tag_name(t, tr.lang) for t in article.tags]
    if names:
        parts.append("<p>🏷 " + escape(" · ".join(names)) + "</p>")
    if now is not None:
        parts.append(f"<p>{escape(times_line(article, tr, now))}</p>")
    source = " ".join((article.source or "").split())
    if source:
        parts.append(f"<p>📰 {escape(source)}</p>")
    covered = also_covered(article, tr)
    if covered:
        parts.append(f"<p>{covered}</p>")
    summary = " ".join(pick(article.summary, shown).split())
    if summary:
        parts.append(f"<p>{escape(summary)}</p>")
    paragraphs = _paragraphs(pick(article.analysis, shown))
    if paragraphs:
        body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        label = escape(_("Analysis"))  # outside the f-string, where pybabel sees it
        parts.append(f"<details><summary>📝 {label}</summary>{body}</details>")
    if article.ai_generated or analysis_generated(article, shown):
        notice = escape(_("⚠️ AI-generated content, for reference only."))
        parts.append(f"<footer><i>{notice}</i></footer>")
    html = "".join(parts)
    if len(html) > RICH_MESSAGE_LIMIT or len(paragraphs) + _FIXED_BLOCKS > RICH_MAX_BLOCKS:
        return None
    actions = [button(_("↗ Share"), cb.Share(article.id))]
    url = safe_url(article.url)
    if url:
        actions.append(InlineKeyboardButton(_("🔗 Source"), url=url))
    return html, markup([actions])
