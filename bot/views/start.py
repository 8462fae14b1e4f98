"""The welcome message, /help and the command menu's descriptions."""

from __future__ import annotations

from typing import Final

from bot.views import callbacks as cb
from bot.views.common import Rendered, button, markup
from bot.views.i18n import N_, translator
from bot.views.paging import escape, truncate


def render_welcome(name: str | None, lang: str) -> Rendered:
    tr = translator(lang)
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
            "Chinese (Simplified or Traditional). Every article is scored for 🔥 hotness, "
            "⭐ quality and 💥 impact, and comes with a summary and an in-depth analysis."
        )
    )
    hint = escape(
        _(
            "Tap Subscribe to get the digest every day, write any words to search, "
            "or send /help to see everything."
        )
    )
    text = f"<b>{greeting}</b>\n\n{body}\n\n{hint}"
    keyboard = markup(
        [
            [
                button(_("🔔 Subscribe"), cb.Subscribe(True)),
                button(_("🌐 Language"), cb.OpenSettings("lang")),
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
    ("article", N_("Open an article by its number (#42 in lists), e.g. /article 42")),
    ("tags", N_("Browse tags; following some limits the digest to them")),
    ("tag", N_("Articles with a tag, e.g. /tag research")),
    ("search", N_("Search articles, e.g. /search robots")),
    ("share", N_("Share an article, e.g. /share 42")),
    ("language", N_("English, 简体中文 or 繁體中文")),
    ("settings", N_("All settings on one screen")),
    ("filters", N_("Muted keywords and tags, minimum score, only my language")),
    ("mute", N_("Hide articles mentioning a word, e.g. /mute crypto")),
    ("unmute", N_("Show a muted word again, e.g. /unmute crypto")),
    ("mutetag", N_("Hide a tag, e.g. /mutetag policy (/unmutetag to undo)")),
    ("unmutetag", N_("Show a muted tag again, e.g. /unmutetag policy")),
    ("minscore", N_("Only articles scoring at least this, e.g. /minscore 60")),
    ("time", N_("Digest time, e.g. /time 08:00")),
    ("timezone", N_("Time zone, e.g. /timezone Asia/Shanghai")),
    ("count", N_("Articles per digest, 1–10, e.g. /count 5")),
    ("channels", N_("Daily digest of the channels you manage")),
    ("help", N_("Show this help")),
    ("stats", N_("Bot statistics (admins only)")),
)

COMMANDS: Final[tuple[str, ...]] = tuple(name for name, _unused in _COMMANDS)


def command_descriptions(lang: str) -> list[tuple[str, str]]:
    """(command, description) pairs for ``set_my_commands`` in ``lang`` (≤ 256 chars each)."""
    tr = translator(lang)
    return [(name, tr.marked(description)[:256]) for name, description in _COMMANDS]


def render_help(lang: str) -> Rendered:
    tr = translator(lang)
    _ = tr.gettext
    lines = ["<b>{}</b>".format(escape(_("What I can do"))), ""]
    for name, description in command_descriptions(lang):
        lines.append(f"/{name} — {escape(description)}")
    lines += [
        "",
        escape(_("In a private chat, any words you send are a search.")),
        escape(_("In groups, only admins can change settings.")),
    ]
    keyboard = markup(
        [
            [
                button(_("⚙️ Settings"), cb.OpenSettings("main")),
                button(_("📰 Digest now"), cb.DigestNow()),
            ]
        ]
    )
    return "\n".join(lines), keyboard


DESCRIPTION_MAX: Final = 512  # Telegram's limits for setMyDescription / setMyShortDescription
SHORT_DESCRIPTION_MAX: Final = 120


def bot_descriptions(lang: str) -> tuple[str, str]:
    """(description, short description) people see before they press Start."""
    _ = translator(lang).gettext
    description = _(
        "A daily digest of the most important AI news, scored for hotness, quality and "
        "impact, with summaries and in-depth analyses — in English, 简体中文 or 繁體中文. "
        "Choose your time, mute what you don't want, or just write words to search."
    )
    short = _("Daily AI news digest, scored and summarised. English · 简体中文 · 繁體中文.")
    return description[:DESCRIPTION_MAX], short[:SHORT_DESCRIPTION_MAX]
