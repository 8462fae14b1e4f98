"""Pure renderers: data in, ``(html_text, keyboard)`` out — no Telegram calls, no I/O.

Every function takes the reader's language (``"en"``/``"zh"``) and, when it shows times,
the chat's time zone and an aware ``now`` so output is deterministic and testable.
All article and user text is escaped with :func:`bot.views.paging.escape` (``html.escape``);
messages are sent with ``parse_mode=ParseMode.HTML`` and always fit 4096 UTF-16 units.
Buttons carry callback data from :mod:`bot.views.callbacks` only.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode, urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, SwitchInlineQueryChosenChat
from telegram.helpers import create_deep_linked_url

from bot.views import callbacks as cb
from bot.views.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    N_,
    Lang,
    Translator,
    format_datetime,
    format_day,
    format_number,
    format_relative,
    is_language,
    timezone_label,
    translator,
)
from bot.views.paging import TELEGRAM_LIMIT, escape, paginate, truncate, utf16_len
from storage.schemas import ArticleView, TagInfo

if TYPE_CHECKING:
    from storage.schemas import StatusReport

Rendered = tuple[str, InlineKeyboardMarkup | None]

MAX_ROW: Final = 8  # Telegram shows at most 8 buttons per row
LIST_ROW: Final = 5  # 📖/↗ buttons per row in lists (readable on phones)
TAGS_PER_PAGE: Final = 10
COMMON_TIMES: Final[tuple[str, ...]] = (
    "06:00",
    "07:00",
    "08:00",
    "09:00",
    "12:00",
    "18:00",
    "20:00",
    "22:00",
)
COMMON_TIMEZONES: Final[tuple[str, ...]] = (
    "UTC",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
)

# Caps on article text inside a single message (escaped UTF-16 units).
_DETAIL_TITLE_MAX: Final = 400
# Summary caps tried in order until page 1 keeps at least _DETAIL_MIN_CHUNK for analysis.
_DETAIL_SUMMARY_STEPS: Final = (1500, 1000, 600, 300, 0)
_DETAIL_MIN_CHUNK: Final = 800
# Longer source URLs stay on the button only; in the text they would eat the page.
_LINK_URL_MAX: Final = 600
_DETAIL_TAGS_MAX: Final = 8
# Room kept for the parts of a detail page that change over time (relative times, views)
# and for the page indicator, so the page split never depends on ``now``.
_VOLATILE_RESERVE: Final = 160
_INDICATOR_RESERVE: Final = 48


# --- small helpers -----------------------------------------------------------------------


def _tr(lang: str) -> Translator:
    return translator(lang)


def _button(text: str, data: cb.Callback) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=cb.encode(data))


def _rows(buttons: Sequence[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    width = max(1, min(width, MAX_ROW))
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def _markup(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    kept = [list(row) for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None


def _safe_url(url: str | None) -> str | None:
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


def _other(lang: Lang) -> Lang:
    return "zh" if lang == "en" else "en"


def _pick(texts: Mapping[str, str], lang: Lang) -> str:
    """Text in ``lang``, else the other language, else any language present."""
    for code in (lang, _other(lang)):
        value = texts.get(code)
        if value and value.strip():
            return value
    return next((v for v in texts.values() if v and v.strip()), "")


def content_language(article: ArticleView, lang: Lang) -> Lang:
    """The language the article is shown in for a reader of ``lang``."""
    if article.title.get(lang, "").strip():
        return lang
    if article.title.get(_other(lang), "").strip():
        return _other(lang)
    return lang


def article_title(article: ArticleView, lang: str) -> str:
    """Plain (unescaped) title in the reader's language, falling back to the other one."""
    reader = _tr(lang).lang
    title = _pick(article.title, content_language(article, reader))
    return " ".join(title.split()) or f"#{article.id}"


def article_summary(article: ArticleView, lang: str) -> str:
    reader = _tr(lang).lang
    return " ".join(_pick(article.summary, content_language(article, reader)).split())


def tag_name(tag: TagInfo, lang: str) -> str:
    """Plain tag name in the reader's language (falls back to the other, then the slug)."""
    return " ".join(_pick(tag.names, _tr(lang).lang).split()) or tag.slug


def _scores_line(article: ArticleView, tr: Translator, *, labels: bool) -> str:
    _ = tr.gettext
    if labels:
        return _("🔥 Hot {hot} · ⭐ Quality {quality} · 💥 Impact {impact}").format(
            hot=article.hot, quality=article.quality, impact=article.impact
        )
    return f"🔥 {article.hot} · ⭐ {article.quality} · 💥 {article.impact}"


def _language_note(article: ArticleView, tr: Translator) -> str | None:
    _ = tr.gettext
    shown = content_language(article, tr.lang)
    if shown == tr.lang:
        return None
    if shown == "zh":
        return _("Shown in Chinese — there is no English version.")
    return _("Shown in English — there is no Chinese version.")


def _views(count: int, tr: Translator) -> str:
    ngettext = tr.ngettext
    return ngettext("{n} view", "{n} views", count).format(n=format_number(count, tr.lang))


def _times_line(article: ArticleView, tr: Translator, now: datetime) -> str:
    _ = tr.gettext
    parts = [format_relative(article.published_at, now, tr.lang)]
    if article.updated_at is not None and article.updated_at > article.published_at:
        parts.append(
            _("updated {when}").format(when=format_relative(article.updated_at, now, tr.lang))
        )
    return "🕒 " + " · ".join(parts) + " · 👁 " + _views(article.views, tr)


def _disclaimer(tr: Translator) -> str:
    _ = tr.gettext
    return "<i>" + escape(_("⚠️ AI-generated content, for reference only.")) + "</i>"


def _source_link(article: ArticleView, tr: Translator) -> str | None:
    _ = tr.gettext
    url = _safe_url(article.url)
    if url is None or len(escape(url)) > _LINK_URL_MAX:
        return None
    label = _("Read the original")
    if article.source:
        label = _("Read the original on {source}").format(source=" ".join(article.source.split()))
    return f'🔗 <a href="{escape(url)}">{escape(truncate(label, 200))}</a>'


# --- welcome / help ----------------------------------------------------------------------


def render_welcome(name: str | None, lang: str) -> Rendered:
    tr = _tr(lang)
    _ = tr.gettext
    clean = " ".join((name or "").split())
    greeting = (
        escape(_("Hi, {name}! 👋")).format(name=escape(truncate(clean, 64)))
        if clean
        else escape(_("Hi there! 👋"))
    )
    body = escape(
        _(
            "I send you a short daily digest of the most important AI news, in English or "
            "Chinese. Every article is scored for 🔥 hotness, ⭐ quality and 💥 impact, and "
            "comes with a summary and an in-depth analysis."
        )
    )
    hint = escape(_("Tap Subscribe to get the digest every day, or send /help to see everything."))
    text = f"<b>{greeting}</b>\n\n{body}\n\n{hint}"
    keyboard = _markup(
        [
            [
                _button(_("🔔 Subscribe"), cb.Subscribe(True)),
                _button(_("🌐 Language"), cb.OpenSettings("lang")),
            ]
        ]
    )
    return text, keyboard


# (command, description) — descriptions are marked here and translated per reader.
_COMMANDS: Final[tuple[tuple[str, str], ...]] = (
    ("start", N_("Welcome and quick start")),
    ("subscribe", N_("Get the digest every day")),
    ("unsubscribe", N_("Stop the daily digest")),
    ("digest", N_("Send today's digest now")),
    ("top", N_("Top-scored recent articles")),
    ("latest", N_("Newest articles")),
    ("article", N_("Open an article by number, e.g. /article 42")),
    ("tags", N_("Browse and follow tags")),
    ("tag", N_("Articles with a tag, e.g. /tag research")),
    ("search", N_("Search articles, e.g. /search robots")),
    ("share", N_("Share an article, e.g. /share 42")),
    ("language", N_("Choose English or Chinese")),
    ("settings", N_("All settings on one screen")),
    ("time", N_("Digest time, e.g. /time 08:00")),
    ("timezone", N_("Time zone, e.g. /timezone Asia/Shanghai")),
    ("count", N_("Articles per digest, 1–10, e.g. /count 5")),
    ("help", N_("Show this help")),
    ("stats", N_("Bot statistics (admins only)")),
)

COMMANDS: Final[tuple[str, ...]] = tuple(name for name, _unused in _COMMANDS)


def command_descriptions(lang: str) -> list[tuple[str, str]]:
    """(command, description) pairs for ``set_my_commands`` in ``lang`` (≤ 256 chars each)."""
    _ = _tr(lang).gettext
    return [(name, _(description)[:256]) for name, description in _COMMANDS]


def render_help(lang: str) -> Rendered:
    tr = _tr(lang)
    _ = tr.gettext
    lines = [f"<b>{escape(_('What I can do'))}</b>", ""]
    for name, description in command_descriptions(lang):
        lines.append(f"/{name} — {escape(description)}")
    lines += ["", escape(_("In groups, only admins can change settings."))]
    keyboard = _markup(
        [
            [
                _button(_("⚙️ Settings"), cb.OpenSettings("main")),
                _button(_("📰 Digest now"), cb.DigestNow()),
            ]
        ]
    )
    return "\n".join(lines), keyboard


# --- article lists -----------------------------------------------------------------------


def digest_header(lang: str, tz: tzinfo | str, now: datetime) -> str:
    """HTML header line for the daily digest, e.g. 'Your AI digest · Wed, Nov 25'."""
    _ = _tr(lang).gettext
    return "📰 <b>{}</b>".format(
        escape(_("Your AI digest · {day}").format(day=format_day(now, tz, lang)))
    )


def top_header(lang: str) -> str:
    _ = _tr(lang).gettext
    return "🔥 <b>{}</b>".format(escape(_("Top stories")))


def latest_header(lang: str) -> str:
    _ = _tr(lang).gettext
    return "🆕 <b>{}</b>".format(escape(_("Latest articles")))


def tag_header(tag: TagInfo, lang: str) -> str:
    _ = _tr(lang).gettext
    name = truncate(tag_name(tag, lang), 100)
    return "🏷 <b>{}</b>".format(escape(_("Articles tagged “{tag}”").format(tag=name)))


def search_header(query: str, lang: str) -> str:
    _ = _tr(lang).gettext
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
    meta = _scores_line(article, tr, labels=False)
    names = [truncate(tag_name(t, tr.lang), 40) for t in article.tags[:tags]]
    if names:
        meta += " · 🏷 " + escape(", ".join(names))
    lines = [head, meta]
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
    tr = _tr(lang)
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
        if utf16_len(text) <= TELEGRAM_LIMIT:
            break
    else:  # pathological header/item count: hard cap rather than fail to send
        text = header_html[:200] + "\n\n" + escape(_("Too many articles to show at once."))
    read = [_button(f"📖 {i}", cb.ArticlePage(a.id, 0)) for i, a in enumerate(articles, 1)]
    share = [_button(f"↗ {i}", cb.Share(a.id)) for i, a in enumerate(articles, 1)]
    rows: list[list[InlineKeyboardButton]] = []
    for start in range(0, len(articles), LIST_ROW):
        rows.append(read[start : start + LIST_ROW])
        rows.append(share[start : start + LIST_ROW])
    return text, _markup(rows)


def render_digest(
    articles: Sequence[ArticleView], lang: str, tz: tzinfo | str, now: datetime
) -> Rendered:
    """The daily digest: :func:`render_article_list` under a localized dated header."""
    tr = _tr(lang)
    _ = tr.gettext
    footer = "<i>{}</i>".format(
        escape(_("📖 read · ↗ share · /settings to change time, count or language"))
    )
    text, keyboard = render_article_list(
        digest_header(lang, tz, now), articles, lang, footer_html=footer
    )
    rows = [list(row) for row in keyboard.inline_keyboard] if keyboard else []
    rows.append([_button(_("⚙️ Settings"), cb.OpenSettings("main"))])
    return text, _markup(rows)


# --- article detail ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _DetailParts:
    title: str
    note: str | None
    scores: str
    tags: str | None
    source_name: str | None
    summary: str | None
    footer: str


def _detail_parts(article: ArticleView, tr: Translator, summary_max: int) -> _DetailParts:
    shown = content_language(article, tr.lang)
    title = truncate(article_title(article, tr.lang), _DETAIL_TITLE_MAX)
    names = [truncate(tag_name(t, tr.lang), 40) for t in article.tags[:_DETAIL_TAGS_MAX]]
    summary = truncate(" ".join(_pick(article.summary, shown).split()), summary_max)
    footer_lines = []
    if article.ai_generated:
        footer_lines.append(_disclaimer(tr))
    link = _source_link(article, tr)
    if link:
        footer_lines.append(link)
    source = " ".join((article.source or "").split())
    note = _language_note(article, tr)
    return _DetailParts(
        title=f"<b>{escape(title)}</b>",
        note=f"<i>{escape(note)}</i>" if note else None,
        scores=escape(_scores_line(article, tr, labels=True)),
        tags="🏷 " + escape(" · ".join(names)) if names else None,
        source_name="📰 " + escape(truncate(source, 100)) if source else None,
        summary=escape(summary) if summary else None,
        footer="\n".join(footer_lines),
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
    if first:
        head.append(parts.scores)
        if parts.tags:
            head.append(parts.tags)
        if times:
            head.append(times)
        if parts.source_name:
            head.append(parts.source_name)
    blocks.append("\n".join(head))
    if first and parts.summary:
        blocks.append(parts.summary)
    if section is not None:
        blocks.append(section + ("\n" + chunk if chunk else ""))
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
    analysis = _pick(article.analysis, content_language(article, tr.lang))
    section = "📝 <b>" + escape(_section_title(tr, 999, 999)) + "</b>"
    newline = 1  # the "\n" between the section heading and the chunk
    parts = _detail_parts(article, tr, 0)
    first_limit = 0
    for summary_max in _DETAIL_SUMMARY_STEPS:
        parts = _detail_parts(article, tr, summary_max)
        fixed = utf16_len(_compose_detail(parts, first=True, times="", section=section, chunk=""))
        first_limit = TELEGRAM_LIMIT - fixed - _VOLATILE_RESERVE - _INDICATOR_RESERVE - newline
        if first_limit >= _DETAIL_MIN_CHUNK:
            break
    rest_fixed = utf16_len(_compose_detail(parts, first=False, times="", section=section, chunk=""))
    limit = TELEGRAM_LIMIT - rest_fixed - _INDICATOR_RESERVE - newline
    pages = paginate(
        analysis, max(limit, _DETAIL_MIN_CHUNK), first_limit=max(first_limit, _DETAIL_MIN_CHUNK)
    )
    return _Layout(parts, pages)


def analysis_pages(article: ArticleView, lang: str) -> list[str]:
    """Plain-text analysis pages for ``article`` as shown to a ``lang`` reader.

    Depends only on the article and language (not on time), so ``a:<id>:<page>`` buttons
    stay valid while the article is unchanged.
    """
    return _layout(article, _tr(lang)).pages


def _section_title(tr: Translator, page: int, total: int) -> str:
    _ = tr.gettext
    if total <= 1:
        return _("Analysis")
    return _("Analysis · page {page}/{total}").format(page=page, total=total)


def render_article_detail(
    article: ArticleView,
    lang: str,
    page: int = 0,
    tz: tzinfo | str = "UTC",
    now: datetime | None = None,
) -> Rendered:
    """One page of an article, mirroring the web page.

    ``page`` is zero-based and clamped to the available pages. ``now`` (aware) drives the
    relative times; without it they are omitted. ``tz`` is accepted for symmetry with the
    other renderers (relative times do not need it).
    """
    del tz  # relative times are zone-independent; kept in the signature for callers
    tr = _tr(lang)
    _ = tr.gettext
    layout = _layout(article, tr)
    parts, pages = layout.parts, layout.pages
    total = max(1, len(pages))
    page = min(max(page, 0), total - 1)
    first = page == 0
    times = _times_line(article, tr, now) if now is not None else ""
    section = None
    if pages:
        section = "📝 <b>" + escape(_section_title(tr, page + 1, total)) + "</b>"
    chunk = escape(pages[page]) if pages else ""
    text = _compose_detail(parts, first=first, times=times, section=section, chunk=chunk)
    if utf16_len(text) > TELEGRAM_LIMIT:  # only if the reserve was exceeded; drop volatile bits
        text = _compose_detail(parts, first=first, times="", section=section, chunk=chunk)

    rows: list[list[InlineKeyboardButton]] = []
    if total > 1:
        nav: list[InlineKeyboardButton] = []
        if page > 0:
            nav.append(_button("‹", cb.ArticlePage(article.id, page - 1)))
        nav.append(_button(f"{page + 1}/{total}", cb.Noop()))
        if page < total - 1:
            nav.append(_button("›", cb.ArticlePage(article.id, page + 1)))
        rows.append(nav)
    actions = [_button(_("↗ Share"), cb.Share(article.id))]
    url = _safe_url(article.url)
    if url:
        actions.append(InlineKeyboardButton(_("🔗 Source"), url=url))
    rows.append(actions)
    return text, _markup(rows)


# --- sharing and inline mode -------------------------------------------------------------


def _bot_name(bot_username: str) -> str:
    return bot_username.strip().lstrip("@")


def article_deep_link(article: ArticleView, bot_username: str) -> str:
    """t.me link that opens ``article`` in the bot (``/start a<id>``)."""
    return create_deep_linked_url(_bot_name(bot_username), cb.article_payload(article.id))


def render_share(article: ArticleView, lang: str, bot_username: str) -> Rendered:
    tr = _tr(lang)
    _ = tr.gettext
    link = article_deep_link(article, bot_username)
    title = truncate(article_title(article, lang), 300)
    share_url = "https://t.me/share/url?" + urlencode({"url": link, "text": title})
    text = "\n".join(
        [
            "↗ <b>{}</b>".format(escape(_("Share this article"))),
            "",
            f"<b>{escape(title)}</b>",
            _scores_line(article, tr, labels=False),
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
    url = _safe_url(article.url)
    if url:
        rows.append([InlineKeyboardButton(_("🔗 Original article"), url=url)])
    return text, _markup(rows)


def inline_description(article: ArticleView, lang: str) -> str:
    """Plain one-line description for an inline-query result (not HTML)."""
    scores = _scores_line(article, _tr(lang), labels=False)
    summary = " ".join(article_summary(article, lang).split())
    return truncate(f"{scores} · {summary}" if summary else scores, 200, escaper=str)


def render_inline_card(article: ArticleView, lang: str, bot_username: str) -> Rendered:
    """Compact card sent into any chat via inline mode, with a button opening the bot."""
    tr = _tr(lang)
    _ = tr.gettext
    title = truncate(article_title(article, lang), 300)
    lines = [f"<b>{escape(title)}</b>", _scores_line(article, tr, labels=False)]
    summary = truncate(article_summary(article, lang), 600)
    if summary:
        lines += ["", escape(summary)]
    link = _source_link(article, tr)
    if link:
        lines += ["", link]
    keyboard = _markup(
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


# --- tags --------------------------------------------------------------------------------


def render_tags(
    tags: Sequence[TagInfo], followed: set[int] | frozenset[int], lang: str, page: int = 0
) -> Rendered:
    """Tag list with 'open' and 'follow/unfollow' buttons, ``TAGS_PER_PAGE`` per page."""
    tr = _tr(lang)
    _ = tr.gettext
    ngettext = tr.ngettext
    if not tags:
        return escape(_("There are no tags yet.")), None
    pages = max(1, -(-len(tags) // TAGS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = tags[page * TAGS_PER_PAGE : (page + 1) * TAGS_PER_PAGE]
    lines = [
        "🏷 <b>{}</b>".format(escape(_("Tags"))),
        escape(_("Follow tags to see more of what you like. Tap a name to see its articles.")),
        "",
    ]
    rows: list[list[InlineKeyboardButton]] = []
    for tag in shown:
        name = truncate(tag_name(tag, lang), 60)
        count = ngettext("{n} article", "{n} articles", tag.article_count).format(
            n=format_number(tag.article_count, lang)
        )
        mark = " ✅" if tag.id in followed else ""
        lines.append(f"• <b>{escape(name)}</b> — {escape(count)}{mark}")
        following = tag.id in followed
        rows.append(
            [
                _button(truncate(name, 40, escaper=str), cb.OpenTag(tag.id)),
                _button(
                    _("✅ Following") if following else _("➕ Follow"),
                    cb.FollowTag(tag.id, not following),
                ),
            ]
        )
    if pages > 1:
        nav: list[InlineKeyboardButton] = []
        if page > 0:
            nav.append(_button("‹", cb.TagsPage(page - 1)))
        nav.append(_button(f"{page + 1}/{pages}", cb.Noop()))
        if page < pages - 1:
            nav.append(_button("›", cb.TagsPage(page + 1)))
        rows.append(nav)
    return "\n".join(lines), _markup(rows)


# --- settings and pickers ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatSettingsView:
    """What the settings screen shows; built by the handler from the chat's stored row."""

    language: Lang
    timezone: str
    digest_time: time
    article_count: int
    subscribed: bool
    followed_tags: tuple[str, ...] = ()


def _back(tr: Translator) -> list[InlineKeyboardButton]:
    _ = tr.gettext
    return [_button(_("‹ Back to settings"), cb.OpenSettings("main"))]


def render_settings(settings: ChatSettingsView, now: datetime | None = None) -> Rendered:
    """All settings on one screen, in the chat's own language; ``now`` shows the UTC offset."""
    tr = _tr(settings.language)
    _ = tr.gettext
    zone = escape(settings.timezone)
    if now is not None:
        zone = escape(timezone_label(settings.timezone, tr.lang, now))
    followed = (
        escape(", ".join(truncate(n, 40) for n in settings.followed_tags[:20]))
        if settings.followed_tags
        else escape(_("none"))
    )
    state = _("on") if settings.subscribed else _("off")
    lines = [
        "⚙️ <b>{}</b>".format(escape(_("Settings"))),
        "",
        escape(_("🌐 Language: {language}")).format(
            language=escape(LANGUAGE_NAMES[settings.language])
        ),
        escape(_("🕒 Time zone: {zone}")).format(zone=zone),
        escape(_("⏰ Digest time: {time}")).format(time=settings.digest_time.strftime("%H:%M")),
        escape(_("🔢 Articles per digest: {count}")).format(count=settings.article_count),
        escape(_("🔔 Daily digest: {state}")).format(state=escape(state)),
        escape(_("🏷 Followed tags: {tags}")).format(tags=followed),
    ]
    rows = [
        [
            _button(_("🌐 Language"), cb.OpenSettings("lang")),
            _button(_("🕒 Time zone"), cb.OpenSettings("tz")),
        ],
        [
            _button(_("⏰ Digest time"), cb.OpenSettings("time")),
            _button(_("🔢 Articles"), cb.OpenSettings("cnt")),
        ],
        [
            _button(
                _("🔕 Unsubscribe") if settings.subscribed else _("🔔 Subscribe"),
                cb.Subscribe(not settings.subscribed),
            ),
            _button(_("🏷 Tags"), cb.OpenSettings("tags")),
        ],
        [_button(_("📰 Digest now"), cb.DigestNow())],
    ]
    return "\n".join(lines), _markup(rows)


def _check(label: str, selected: bool) -> str:
    return f"✓ {label}" if selected else label


def render_language_picker(lang: str, current: str | None = None) -> Rendered:
    tr = _tr(lang)
    _ = tr.gettext
    text = "🌐 <b>{}</b>".format(escape(_("Choose your language")))
    buttons = [
        _button(_check(LANGUAGE_NAMES[c], c == current), cb.SetLanguage(c)) for c in LANGUAGES
    ]
    return text, _markup([buttons, _back(tr)])


def render_count_picker(lang: str, current: int | None = None) -> Rendered:
    tr = _tr(lang)
    _ = tr.gettext
    text = "🔢 <b>{}</b>".format(escape(_("How many articles per digest?")))
    buttons = [
        _button(_check(str(n), n == current), cb.SetCount(n))
        for n in range(cb.MIN_COUNT, cb.MAX_COUNT + 1)
    ]
    return text, _markup([*_rows(buttons, 5), _back(tr)])


def render_time_picker(lang: str, current: time | None = None) -> Rendered:
    tr = _tr(lang)
    _ = tr.gettext
    text = "⏰ <b>{}</b>\n{}".format(
        escape(_("When should the digest arrive?")),
        escape(_("Times are in your time zone. For another time send e.g. /time 07:30.")),
    )
    now_hhmm = current.strftime("%H:%M") if current is not None else None
    buttons = []
    for hhmm in COMMON_TIMES:
        hour, minute = (int(x) for x in hhmm.split(":"))
        buttons.append(_button(_check(hhmm, hhmm == now_hhmm), cb.SetTime(hour, minute)))
    return text, _markup([*_rows(buttons, 4), _back(tr)])


def render_timezone_picker(lang: str, now: datetime, current: str | None = None) -> Rendered:
    tr = _tr(lang)
    _ = tr.gettext
    text = "🕒 <b>{}</b>\n{}".format(
        escape(_("Choose your time zone")),
        escape(_("Not listed? Send /timezone with a name such as Europe/Paris.")),
    )
    buttons = [
        _button(_check(timezone_label(zone, tr.lang, now), zone == current), cb.SetTimezone(zone))
        for zone in COMMON_TIMEZONES
    ]
    return text, _markup([*_rows(buttons, 2), _back(tr)])


# --- /stats ------------------------------------------------------------------------------

_CHAT_KINDS: Final[dict[str, str]] = {
    "private": N_("private chats"),
    "group": N_("groups"),
    "supergroup": N_("supergroups"),
    "channel": N_("channels"),
}
_OUTBOX_STATES: Final[dict[str, str]] = {
    "pending": N_("pending"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "unknown": N_("unknown"),
    "skipped": N_("skipped"),
}


def _decimal(value: float | None, lang: str) -> str:
    return "–" if value is None else format_number(round(value, 1), lang)


def render_stats(
    report: StatusReport,
    subscribers: Sequence[tuple[str | None, str, int]],
    articles: int,
    lang: str,
) -> Rendered:
    """The admins' /stats screen: subscribers by language and chat type, articles, runs."""
    tr = _tr(lang)
    _ = tr.gettext
    lines = ["📊 <b>{}</b>".format(escape(_("Statistics"))), ""]
    total = sum(n for _lang, _kind, n in subscribers)
    lines.append(escape(_("Subscribed chats: {n}").format(n=format_number(total, lang))))
    for chat_lang, kind, n in sorted(subscribers, key=lambda row: (-row[2], row[1])):
        language = LANGUAGE_NAMES[chat_lang] if is_language(chat_lang) else _("not chosen yet")
        kind_name = _(_CHAT_KINDS[kind]) if kind in _CHAT_KINDS else kind
        lines.append(escape(f"• {language} · {kind_name}: {format_number(n, lang)}"))
    lines.append(escape(_("Deactivated chats: {n}").format(n=format_number(report.inactive, lang))))
    lines.append(escape(_("Articles: {n}").format(n=format_number(articles, lang))))
    states = ", ".join(
        f"{_(_OUTBOX_STATES.get(state, state))} {format_number(n, lang)}"
        for state, n in report.states.items()
        if n
    )
    lines.append(escape(_("Outbox: {states}").format(states=states or "–")))
    lines += ["", "<b>{}</b>".format(escape(_("Recent digest runs")))]
    for run in report.runs:
        started = format_datetime(run.started_at, "UTC", lang, "short")
        lines.append(
            escape(
                _(
                    "{start} UTC · planned {planned} · sent {sent} · failed {failed} · "
                    "unknown {unknown} · skipped {skipped} · {seconds} s · {rate} msg/s"
                ).format(
                    start=started,
                    planned=run.planned,
                    sent=run.sent,
                    failed=run.failed,
                    unknown=run.unknown,
                    skipped=run.skipped,
                    seconds=_decimal(run.duration_s, lang),
                    rate=_decimal(run.msgs_per_s, lang),
                )
            )
        )
    if not report.runs:
        lines.append(escape(_("No digest runs yet.")))
    return "\n".join(lines), None


# --- notices (errors and confirmations) --------------------------------------------------


class Notice(enum.Enum):
    BAD_TIME = "bad_time"
    BAD_TIMEZONE = "bad_timezone"
    BAD_COUNT = "bad_count"
    ARTICLE_NOT_FOUND = "article_not_found"
    ARTICLE_USAGE = "article_usage"
    TAG_NOT_FOUND = "tag_not_found"
    TAG_USAGE = "tag_usage"
    SEARCH_USAGE = "search_usage"
    NO_RESULTS = "no_results"
    ARGUMENT_TOO_LONG = "argument_too_long"
    UNKNOWN_COMMAND = "unknown_command"
    ADMIN_ONLY = "admin_only"
    OPERATORS_ONLY = "operators_only"
    NO_ARTICLES = "no_articles"
    STALE_BUTTON = "stale_button"
    ERROR = "error"
    RATE_LIMITED = "rate_limited"
    SUBSCRIBED = "subscribed"
    ALREADY_SUBSCRIBED = "already_subscribed"
    UNSUBSCRIBED = "unsubscribed"
    NOT_SUBSCRIBED = "not_subscribed"
    LANGUAGE_SET = "language_set"
    TIME_SET = "time_set"
    TIMEZONE_SET = "timezone_set"
    COUNT_SET = "count_set"
    TAG_FOLLOWED = "tag_followed"
    TAG_UNFOLLOWED = "tag_unfollowed"


# Placeholders each notice expects: {value} user input, {id} article id, {time}, {zone},
# {count}, {tag}, {query}, {language}. ARGUMENT_TOO_LONG is plural-aware ({limit}).
_NOTICES: Final[dict[Notice, str]] = {
    Notice.BAD_TIME: N_("“{value}” is not a valid time. Use 24-hour HH:MM, e.g. /time 08:00."),
    Notice.BAD_TIMEZONE: N_(
        "I don't know the time zone “{value}”. Use a name such as Europe/Berlin or "
        "Asia/Shanghai, or pick one in /settings."
    ),
    Notice.BAD_COUNT: N_("Please choose a number from 1 to 10, e.g. /count 5."),
    Notice.ARTICLE_NOT_FOUND: N_("Article {id} was not found. It may have been removed."),
    Notice.ARTICLE_USAGE: N_("Which article? Send its number, e.g. /article 42."),
    Notice.TAG_NOT_FOUND: N_("There is no tag called “{value}”. Send /tags to see them all."),
    Notice.TAG_USAGE: N_("Which tag? E.g. /tag research — or send /tags to browse."),
    Notice.SEARCH_USAGE: N_("What should I look for? E.g. /search robots"),
    Notice.NO_RESULTS: N_("Nothing found for “{query}”."),
    Notice.UNKNOWN_COMMAND: N_(
        "Sorry, I don't know that command. Send /help to see what I can do."
    ),
    Notice.ADMIN_ONLY: N_("Only group admins can change this."),
    Notice.OPERATORS_ONLY: N_("Only the bot's operators can see its statistics."),
    Notice.NO_ARTICLES: N_("No articles yet — please check back later."),
    Notice.STALE_BUTTON: N_("This button has expired. Please send the command again."),
    Notice.ERROR: N_("Something went wrong on our side. Please try again in a moment."),
    Notice.RATE_LIMITED: N_("Too many requests — please wait a few seconds."),
    Notice.SUBSCRIBED: N_("✅ Subscribed! Your digest arrives every day at {time} ({zone})."),
    Notice.ALREADY_SUBSCRIBED: N_("You are already subscribed. Change the time with /time."),
    Notice.UNSUBSCRIBED: N_("🔕 Unsubscribed. Send /subscribe any time to come back."),
    Notice.NOT_SUBSCRIBED: N_("You are not subscribed. Send /subscribe to get the digest."),
    Notice.LANGUAGE_SET: N_("✅ Language set to {language}."),
    Notice.TIME_SET: N_("✅ The digest will arrive at {time} ({zone})."),
    Notice.TIMEZONE_SET: N_("✅ Time zone set to {zone}."),
    Notice.TAG_FOLLOWED: N_("✅ Following “{tag}”."),
    Notice.TAG_UNFOLLOWED: N_("Stopped following “{tag}”."),
}

_PARAM_MAX: Final = 80  # echoed user input is cut so a notice can never get huge


def _notice(
    notice: Notice, lang: str, params: Mapping[str, object], esc: Callable[[str], str]
) -> str:
    tr = _tr(lang)
    _ = tr.gettext
    ngettext = tr.ngettext
    safe = {k: esc(truncate(str(v), _PARAM_MAX, escaper=str)) for k, v in params.items()}
    if notice is Notice.ARGUMENT_TOO_LONG:
        limit = int(str(params.get("limit", 0)))
        message = ngettext(
            "That is too long — please keep it under {limit} character.",
            "That is too long — please keep it under {limit} characters.",
            limit,
        )
        return esc(message).format(limit=format_number(limit, lang))
    if notice is Notice.COUNT_SET:
        count = int(str(params.get("count", 0)))
        message = ngettext(
            "✅ The digest will have {count} article.",
            "✅ The digest will have {count} articles.",
            count,
        )
        return esc(message).format(count=count)
    template = esc(_(_NOTICES[notice]))
    return template.format_map(_Defaulting(safe))


class _Defaulting(dict[str, str]):
    """Missing placeholders render as '?' rather than raising KeyError."""

    def __missing__(self, key: str) -> str:
        return "?"


def notice_text(notice: Notice, lang: str, **params: object) -> str:
    """Plain text (no HTML) — for ``answer_callback_query`` (≤ 200 chars) and alerts."""
    return _notice(notice, lang, params, str)


def render_notice(notice: Notice, lang: str, **params: object) -> Rendered:
    """HTML message for ``notice``; parameters (user input) are escaped."""
    return _notice(notice, lang, params, escape), None


def render_stale_button(lang: str) -> Rendered:
    return render_notice(Notice.STALE_BUTTON, lang)
