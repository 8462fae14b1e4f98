"""Shared pieces of every screen: the ``Rendered`` type, buttons and keyboards, and the
article and tag text (title, summary, scores, times, source link) several screens show.

Renderers are pure: data in, ``(html_text, keyboard)`` out, no Telegram calls and no I/O.
All article and user text is escaped with :func:`bot.views.paging.escape`; messages are
sent with ``parse_mode=ParseMode.HTML`` and fit Telegram's limits (:mod:`bot.rules`).
Buttons carry callback data from :mod:`bot.views.callbacks` only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.hanzi import to_traditional
from bot.rules import Lang, is_chinese
from bot.views import callbacks as cb
from bot.views.i18n import Translator, format_number, format_relative, translator
from bot.views.paging import escape, truncate
from storage.schemas import ArticleView, TagInfo

Rendered = tuple[str, InlineKeyboardMarkup | None]

MAX_ROW: Final = 8  # Telegram shows at most 8 buttons per row
# Longer source URLs stay on the button only; in the text they would eat the page.
_LINK_URL_MAX: Final = 600


def button(text: str, data: cb.Callback) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=cb.encode(data))


def button_rows(
    buttons: Sequence[InlineKeyboardButton], width: int
) -> list[list[InlineKeyboardButton]]:
    width = max(1, min(width, MAX_ROW))
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def markup(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    kept = [list(row) for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None


def safe_url(url: str | None) -> str | None:
    """Only http(s) URLs become links or buttons; anything else is dropped."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in url for c in " \n"):
        return None
    return url


def _fallbacks(lang: Lang) -> tuple[str, ...]:
    """Stored text languages to try for a reader, best first (both Chinese read ``zh``)."""
    if lang == "en":
        return ("en", "zh")
    # Imports may carry Traditional text as "zh-Hant" (BCP-47); it is shown as it is.
    return ("zh_Hant", "zh-Hant", "zh", "en") if lang == "zh_Hant" else ("zh", "en")


def _script(text: str, stored: str, lang: Lang) -> str:
    # Simplified article text shown to a Traditional reader is converted (cached, never stored).
    return to_traditional(text) if lang == "zh_Hant" and stored == "zh" else text


def pick(texts: Mapping[str, str], lang: Lang) -> str:
    """Text for a ``lang`` reader: their language, else the other one, else any language
    present; Simplified text is shown in Traditional characters to a ``zh_Hant`` reader."""
    for code in _fallbacks(lang):
        value = texts.get(code)
        if value and value.strip():
            return _script(value, code, lang)
    return next((v for v in texts.values() if v and v.strip()), "")


def content_language(article: ArticleView, lang: Lang) -> Lang:
    """The language the article is shown in for a reader of ``lang`` (Chinese text read by a
    zh_Hant reader counts as zh_Hant: it is shown converted)."""
    for code in _fallbacks(lang):
        if article.title.get(code, "").strip():
            if code == "en":
                return "en"
            return "zh_Hant" if lang == "zh_Hant" else "zh"
    return lang


def article_title(article: ArticleView, lang: str) -> str:
    """Plain (unescaped) title in the reader's language, falling back to the other one."""
    reader = translator(lang).lang
    title = pick(article.title, content_language(article, reader))
    return " ".join(title.split()) or f"#{article.id}"


def article_summary(article: ArticleView, lang: str) -> str:
    reader = translator(lang).lang
    return " ".join(pick(article.summary, content_language(article, reader)).split())


def tag_name(tag: TagInfo, lang: str) -> str:
    """Plain tag name in the reader's language (falls back to the other, then the slug)."""
    return " ".join(pick(tag.names, translator(lang).lang).split()) or tag.slug


def scores_line(article: ArticleView, tr: Translator, *, labels: bool) -> str:
    _ = tr.gettext
    if labels:
        return _("🔥 Hot {hot} · ⭐ Quality {quality} · 💥 Impact {impact}").format(
            hot=article.hot, quality=article.quality, impact=article.impact
        )
    return f"🔥 {article.hot} · ⭐ {article.quality} · 💥 {article.impact}"


def language_note(article: ArticleView, tr: Translator) -> str | None:
    _ = tr.gettext
    shown = content_language(article, tr.lang)
    if shown == tr.lang:
        return None
    if is_chinese(shown):
        return _("Shown in Chinese — there is no English version.")
    return _("Shown in English — there is no Chinese version.")


def _views(count: int, tr: Translator) -> str:
    ngettext = tr.ngettext
    return ngettext("{n} view", "{n} views", count).format(n=format_number(count, tr.lang))


def times_line(article: ArticleView, tr: Translator, now: datetime) -> str:
    _ = tr.gettext
    parts = [format_relative(article.published_at, now, tr.lang)]
    if article.updated_at is not None and article.updated_at > article.published_at:
        parts.append(
            _("updated {when}").format(when=format_relative(article.updated_at, now, tr.lang))
        )
    return "🕒 " + " · ".join(parts) + " · 👁 " + _views(article.views, tr)


def disclaimer(tr: Translator) -> str:
    _ = tr.gettext
    return "<i>" + escape(_("⚠️ AI-generated content, for reference only.")) + "</i>"


def source_link(article: ArticleView, tr: Translator) -> str | None:
    _ = tr.gettext
    url = safe_url(article.url)
    if url is None or len(escape(url)) > _LINK_URL_MAX:
        return None
    label = _("Read the original")
    if article.source:
        label = _("Read the original on {source}").format(source=" ".join(article.source.split()))
    return f'🔗 <a href="{escape(url)}">{escape(truncate(label, 200))}</a>'
