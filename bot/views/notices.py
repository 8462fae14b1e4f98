"""Short answers: errors, usage hints and confirmations, as HTML or as plain alert text."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Final

from bot.views.common import Rendered
from bot.views.i18n import N_, format_number, translator
from bot.views.paging import escape, truncate


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
    SUBSCRIBED = "subscribed"
    ALREADY_SUBSCRIBED = "already_subscribed"
    UNSUBSCRIBED = "unsubscribed"
    NOT_SUBSCRIBED = "not_subscribed"
    LANGUAGE_SET = "language_set"
    TIME_SET = "time_set"
    TIMEZONE_SET = "timezone_set"
    COUNT_SET = "count_set"
    NO_RESULTS_TYPED = "no_results_typed"
    BAD_KEYWORD = "bad_keyword"
    TOO_MANY_KEYWORDS = "too_many_keywords"
    BAD_SCORE = "bad_score"
    MUTE_USAGE = "mute_usage"
    MUTETAG_USAGE = "mutetag_usage"
    KEYWORD_MUTED = "keyword_muted"
    KEYWORD_UNMUTED = "keyword_unmuted"
    TAG_MUTED = "tag_muted"
    TAG_UNMUTED = "tag_unmuted"
    MIN_SCORE_SET = "min_score_set"
    NOT_TEXT = "not_text"
    ADDRESSED_EMPTY = "addressed_empty"
    CHANNELS_PRIVATE_ONLY = "channels_private_only"


# Placeholders each notice expects: {value} user input, {id} article id, {time}, {zone},
# {count}, {query}, {language}. ARGUMENT_TOO_LONG is plural-aware ({limit}).
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
    Notice.NO_RESULTS_TYPED: N_(
        "Nothing found for “{query}”. Try other words, see the best articles with /top, "
        "or browse topics with /tags."
    ),
    Notice.BAD_KEYWORD: N_("Please send a plain word or phrase of 1 to 64 characters."),
    Notice.TOO_MANY_KEYWORDS: N_("You have muted 30 keywords already. Remove one with /unmute."),
    Notice.BAD_SCORE: N_("Please send a number from 0 to 100, e.g. /minscore 60 (0 turns it off)."),
    Notice.MUTE_USAGE: N_("Which word? E.g. /mute crypto — /filters shows what is muted."),
    Notice.MUTETAG_USAGE: N_("Which tag? E.g. /mutetag policy — /tags lists them."),
    Notice.KEYWORD_MUTED: N_(
        "🔇 Articles mentioning “{value}” are left out of your digest and lists."
    ),
    Notice.KEYWORD_UNMUTED: N_("🔊 “{value}” is no longer muted."),
    Notice.TAG_MUTED: N_("🔇 Articles tagged “{value}” are left out of your digest and lists."),
    Notice.TAG_UNMUTED: N_("🔊 The tag “{value}” is no longer muted."),
    Notice.MIN_SCORE_SET: N_("✅ Minimum score: {value}."),
    Notice.NOT_TEXT: N_(
        "I read words: send a few to search the news (e.g. chips), or /help for everything."
    ),
    Notice.ADDRESSED_EMPTY: N_("Yes? Add a few words to search, e.g. @{bot} chips — or /help."),
    Notice.UNKNOWN_COMMAND: N_(
        "Sorry, I don't know that command. Send /help to see what I can do."
    ),
    Notice.ADMIN_ONLY: N_("Only group admins can change this."),
    Notice.CHANNELS_PRIVATE_ONLY: N_("Send /channels to me in a private chat."),
    Notice.OPERATORS_ONLY: N_("Only the bot's operators can see its statistics."),
    Notice.NO_ARTICLES: N_("No articles yet — please check back later."),
    Notice.STALE_BUTTON: N_("This button has expired. Please send the command again."),
    Notice.ERROR: N_("Something went wrong on our side. Please try again in a moment."),
    Notice.SUBSCRIBED: N_("✅ Subscribed! Your digest arrives every day at {time}, {zone}."),
    Notice.ALREADY_SUBSCRIBED: N_("You are already subscribed. Change the time with /time."),
    Notice.UNSUBSCRIBED: N_("🔕 Unsubscribed. Send /subscribe any time to come back."),
    Notice.NOT_SUBSCRIBED: N_("You are not subscribed. Send /subscribe to get the digest."),
    Notice.LANGUAGE_SET: N_("✅ Language set to {language}."),
    Notice.TIME_SET: N_("✅ The digest will arrive at {time}, {zone}."),
    Notice.TIMEZONE_SET: N_("✅ Time zone set to {zone}."),
}

_PARAM_MAX: Final = 80  # echoed user input is cut so a notice can never get huge


def _notice(
    notice: Notice, lang: str, params: Mapping[str, object], esc: Callable[[str], str]
) -> str:
    tr = translator(lang)
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
    template = esc(tr.marked(_NOTICES[notice]))
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
