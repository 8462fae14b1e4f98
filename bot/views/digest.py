"""The daily digest message: the article list under a dated header, plus a settings button."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from bot.views import callbacks as cb
from bot.views.common import Rendered, button, markup
from bot.views.i18n import translator
from bot.views.lists import digest_header, render_article_list
from bot.views.paging import escape
from storage.schemas import ArticleView


def render_digest(
    articles: Sequence[ArticleView], lang: str, tz: tzinfo | str, now: datetime
) -> Rendered:
    """The daily digest: :func:`render_article_list` under a localized dated header."""
    tr = translator(lang)
    _ = tr.gettext
    footer = "<i>{}</i>".format(
        escape(_("📖 read · ↗ share · /settings to change time, count or language"))
    )
    text, keyboard = render_article_list(
        digest_header(lang, tz, now), articles, lang, footer_html=footer
    )
    rows = [list(row) for row in keyboard.inline_keyboard] if keyboard else []
    rows.append([button(_("⚙️ Settings"), cb.OpenSettings("main"))])
    return text, markup(rows)
