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
            "Chinese. Every article is scored for 🔥 hotness, ⭐ quality and 💥 impact, and "
            "comes with a summary and an in-depth analysis."
        )
    )
    hint = escape(_("Tap Subscribe to get the digest every day, or send /help to see everything."))
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
    ("channels", N_("Daily digest of the channels you manage")),
    ("help", N_("Show this help")),
    ("stats", N_("Bot statistics (admins only)")),
)

COMMANDS: Final[tuple[str, ...]] = tuple(name for name, _unused in _COMMANDS)


def command_descriptions(lang: str) -> list[tuple[str, str]]:
    """(command, description) pairs for ``set_my_commands`` in ``lang`` (≤ 256 chars each)."""
    _ = translator(lang).gettext
    return [(name, _(description)[:256]) for name, description in _COMMANDS]


def render_help(lang: str) -> Rendered:
    tr = translator(lang)
    _ = tr.gettext
    lines = [f"<b>{escape(_('What I can do'))}</b>", ""]
    for name, description in command_descriptions(lang):
        lines.append(f"/{name} — {escape(description)}")
    lines += ["", escape(_("In groups, only admins can change settings."))]
    keyboard = markup(
        [
            [
                button(_("⚙️ Settings"), cb.OpenSettings("main")),
                button(_("📰 Digest now"), cb.DigestNow()),
            ]
        ]
    )
    return "\n".join(lines), keyboard
