"""The daily digest message: the article list under a dated header, plus a settings button."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from urllib.parse import urlencode

from telegram import InlineKeyboardButton

from bot.views import callbacks as cb
from bot.views.common import Rendered, button, markup
from bot.views.i18n import translator
from bot.views.lists import LIST_ROW, digest_header, render_article_list
from bot.views.paging import escape
from bot.views.share import article_deep_link
from storage.schemas import ArticleView


def render_digest(
    articles: Sequence[ArticleView],
    lang: str,
    tz: tzinfo | str,
    now: datetime,
    *,
    hidden: int = 0,
) -> Rendered:
    """The daily digest: :func:`render_article_list` under a localized dated header.

    ``hidden``: how many top articles the chat's filters removed; the footer says so, so a
    digest shorter than the chosen count is explained. Ages show as dates: the message is
    rendered once for many chats, whose local time differs.
    """
    tr = translator(lang)
    _ = tr.gettext
    footer = "<i>{}</i>".format(
        escape(_("📖 read · ↗ share · /settings to change time, count or language"))
    )
    if hidden:
        note = tr.ngettext(
            "🔇 Your filters left out {n} article. /filters shows them.",
            "🔇 Your filters left out {n} articles. /filters shows them.",
            hidden,
        ).format(n=hidden)
        footer = f"<i>{escape(note)}</i>\n{footer}"
    text, keyboard = render_article_list(
        digest_header(lang, tz, now), articles, lang, footer_html=footer
    )
    rows = [list(row) for row in keyboard.inline_keyboard] if keyboard else []
    rows.append([button(_("⚙️ Settings"), cb.OpenSettings("main"))])
    return text, markup(rows)


def render_channel_digest(
    articles: Sequence[ArticleView], lang: str, tz: tzinfo | str, now: datetime, bot_username: str
) -> Rendered:
    """The digest for a channel: no per-reader buttons (a button pressed in a channel would act
    on the channel); 📖 and ↗ are links that open the article in the bot, or share that link."""
    tr = translator(lang)
    _ = tr.gettext
    footer = "<i>{}</i>".format(escape(_("📖 read in the bot · ↗ share")))
    text, _keyboard = render_article_list(
        digest_header(lang, tz, now), articles, lang, footer_html=footer
    )
    # Labelled with the article numbers the list shows (#42), like every other list.
    links = [(a.id, article_deep_link(a, bot_username)) for a in articles]
    read = [InlineKeyboardButton(f"📖 {n}", url=link) for n, link in links]
    share = [
        InlineKeyboardButton(f"↗ {n}", url="https://t.me/share/url?" + urlencode({"url": link}))
        for n, link in links
    ]
    rows: list[list[InlineKeyboardButton]] = []
    for start in range(0, len(articles), LIST_ROW):
        rows.append(read[start : start + LIST_ROW])
        rows.append(share[start : start + LIST_ROW])
    return text, markup(rows)
