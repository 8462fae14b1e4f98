"""Sharing: the share screen, the deep link that opens an article, the inline-mode card."""

from __future__ import annotations

from urllib.parse import urlencode

from telegram import InlineKeyboardButton, SwitchInlineQueryChosenChat
from telegram.helpers import create_deep_linked_url

from bot.views import callbacks as cb
from bot.views.common import (
    Rendered,
    article_summary,
    article_title,
    markup,
    safe_url,
    scores_line,
    source_link,
)
from bot.views.i18n import translator
from bot.views.paging import escape, truncate
from storage.schemas import ArticleView


def _bot_name(bot_username: str) -> str:
    return bot_username.strip().lstrip("@")


def article_deep_link(article: ArticleView, bot_username: str) -> str:
    """t.me link that opens ``article`` in the bot (``/start a<id>``)."""
    return create_deep_linked_url(_bot_name(bot_username), cb.article_payload(article.id))


def render_share(article: ArticleView, lang: str, bot_username: str) -> Rendered:
    tr = translator(lang)
    _ = tr.gettext
    link = article_deep_link(article, bot_username)
    title = truncate(article_title(article, lang), 300)
    share_url = "https://t.me/share/url?" + urlencode({"url": link, "text": title})
    text = "\n".join(
        [
            "↗ <b>{}</b>".format(escape(_("Share this article"))),
            "",
            f"<b>{escape(title)}</b>",
            scores_line(article, tr, labels=False),
            "",
            escape(_("Anyone can open it in the bot with this link:")),
            escape(link),
        ]
    )
    rows: list[list[InlineKeyboardButton]] = [
        [
            InlineKeyboardButton(
                _("📤 Send to a chat"),
                switch_inline_query_chosen_chat=SwitchInlineQueryChosenChat(
                    query=cb.article_payload(article.id),
                    allow_user_chats=True,
                    allow_group_chats=True,
                    allow_channel_chats=True,
                ),
            )
        ],
        [InlineKeyboardButton(_("✈️ Share via Telegram"), url=share_url)],
        [InlineKeyboardButton(_("🤖 Open in the bot"), url=link)],
    ]
    url = safe_url(article.url)
    if url:
        rows.append([InlineKeyboardButton(_("🔗 Original article"), url=url)])
    return text, markup(rows)


def inline_description(article: ArticleView, lang: str) -> str:
    """Plain one-line description for an inline-query result (not HTML)."""
    scores = scores_line(article, translator(lang), labels=False)
    summary = " ".join(article_summary(article, lang).split())
    return truncate(f"{scores} · {summary}" if summary else scores, 200, escaper=str)


def render_inline_card(article: ArticleView, lang: str, bot_username: str) -> Rendered:
    """Compact card sent into any chat via inline mode, with a button opening the bot."""
    tr = translator(lang)
    _ = tr.gettext
    title = truncate(article_title(article, lang), 300)
    lines = [f"<b>{escape(title)}</b>", scores_line(article, tr, labels=False)]
    summary = truncate(article_summary(article, lang), 600)
    if summary:
        lines += ["", escape(summary)]
    link = source_link(article, tr)
    if link:
        lines += ["", link]
    keyboard = markup(
        [
            [
                InlineKeyboardButton(
                    _("📖 Read in @{bot}").format(bot=_bot_name(bot_username)),
                    url=article_deep_link(article, bot_username),
                )
            ]
        ]
    )
    return "\n".join(lines), keyboard
