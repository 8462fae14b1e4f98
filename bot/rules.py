"""One source for every rule the product and Telegram impose; everything else imports these.

The bottom of ``bot/``: it imports nothing of the project, so storage-free code at any layer
(views, delivery, the emulator) can share one definition instead of keeping a copy.
"""

from __future__ import annotations

import ipaddress
from typing import Final, Literal, TypeGuard

# --- languages -------------------------------------------------------------------------------

# Stored codes: "zh" has always meant Simplified Chinese (kept, so old rows keep their meaning);
# "zh_Hant" is Traditional Chinese, shown from the Simplified text converted by OpenCC.
Lang = Literal["en", "zh", "zh_Hant"]
LANGUAGES: Final[tuple[Lang, ...]] = ("en", "zh", "zh_Hant")
# Languages article text is stored (and imported, and generated) in; zh_Hant is shown from zh.
TEXT_LANGUAGES: Final[tuple[Lang, ...]] = ("en", "zh")
# Telegram language codes (lower-case, "-" separated) that mean Traditional script.
_TRADITIONAL: Final = frozenset({"zh-hant", "zh-tw", "zh-hk", "zh-mo"})


def is_language(value: object) -> TypeGuard[Lang]:
    return value in LANGUAGES


def is_chinese(lang: str) -> bool:
    """Either Chinese script (both read the same stored Chinese article text)."""
    return lang in ("zh", "zh_Hant")


def language_from_code(code: str | None) -> Lang | None:
    """Map a BCP-47-ish code (Telegram's ``language_code``, a stored value) to a language.

    zh-hant, zh-tw, zh-hk and zh-mo (and their longer forms, e.g. zh-hant-tw) read
    Traditional; any other Chinese variant (zh, zh-hans, zh-cn, zh-sg) reads Simplified.
    """
    if not code or not code.strip():
        return None
    tag = code.strip().lower().replace("_", "-")
    if tag == "zh" or tag.startswith("zh-"):
        parts = tag.split("-")
        if any(f"zh-{part}" in _TRADITIONAL for part in parts[1:]) and "hans" not in parts:
            return "zh_Hant"
        return "zh"
    return "en"


def resolve_language(stored: str | None, telegram_code: str | None, default: str) -> Lang:
    """The chat's language: an explicit stored choice, else Telegram's hint, else ``default``."""
    if stored and stored.strip():
        chosen = language_from_code(stored)
        if chosen is not None:
            return chosen
    hinted = language_from_code(telegram_code)
    if hinted is not None:
        return hinted
    fallback = language_from_code(default)
    return fallback if fallback is not None else "en"


# --- product rules ---------------------------------------------------------------------------

# Articles per digest a chat may choose (settings, buttons, the default setting).
MIN_ARTICLE_COUNT: Final = 1
MAX_ARTICLE_COUNT: Final = 10

# --- Telegram's rules (https://core.telegram.org/bots/api) -----------------------------------

MESSAGE_LIMIT: Final = 4096  # characters of a text message after entity parsing (UTF-16 units)
CAPTION_LIMIT: Final = 1024
CALLBACK_DATA_MAX_BYTES: Final = 64
DEEP_LINK_PAYLOAD_MAX: Final = 64  # characters of a /start payload (A-Z a-z 0-9 _ -)

# Tags Telegram accepts with parse_mode=HTML (https://core.telegram.org/bots/api#html-style).
ALLOWED_HTML_TAGS: Final = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)


# Rich messages (Bot API 10.1 ``sendRichMessage``): the subset of "Rich message formatting
# options" this project sends and its emulator accepts; docs/rich-messages.md gives the sources.
RICH_MESSAGE_LIMIT: Final = 32768  # characters of the rich message's text
RICH_MAX_BLOCKS: Final = 500  # blocks, nested ones, list items and table rows included
RICH_MAX_DEPTH: Final = 16  # levels of nested formatting and blocks
RICH_MAX_TABLE_COLUMNS: Final = 20
# Block tags (one block each) and the inline tags that may appear inside block text.
RICH_BLOCK_TAGS: Final = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "footer",
        "hr",
        "ul",
        "ol",
        "li",
        "blockquote",
        "table",
        "caption",
        "tr",
        "th",
        "td",
        "details",
        "summary",
    }
)
RICH_INLINE_TAGS: Final = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "a", "sub", "sup", "mark"}
)
# Attributes accepted per tag; any other attribute is refused.
RICH_ATTRIBUTES: Final[dict[str, frozenset[str]]] = {
    "a": frozenset({"href"}),
    "th": frozenset({"colspan", "rowspan", "align", "valign"}),
    "td": frozenset({"colspan", "rowspan", "align", "valign"}),
    "table": frozenset({"bordered", "striped"}),
    "details": frozenset({"open"}),
    "ol": frozenset({"start", "type"}),
    "pre": frozenset(),
    "code": frozenset({"class"}),
}


def utf16_len(text: str) -> int:
    """Length as Telegram measures it (UTF-16 code units)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --- numbers typed by people ------------------------------------------------------------------


def ascii_int(text: str, *, max_digits: int = 18) -> int | None:
    """A non-negative integer written in ASCII digits 0-9 only, else None.

    ``str.isdigit()`` is also true for "²", "①" or "⁵", which ``int()`` then refuses, and
    ``int()`` alone takes "٣" or "３": typed numbers accept exactly what the help text shows.
    """
    value = text.strip()
    if not value or len(value) > max_digits or not value.isascii() or not value.isdigit():
        return None
    return int(value)


# --- networking ------------------------------------------------------------------------------


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (IPv4 127/8, IPv6 ::1, bracketed or not)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
