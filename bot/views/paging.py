"""Split long plain text into Telegram-sized pages.

Telegram counts message length in UTF-16 code units (an emoji outside the BMP is 2) and
counts the text *after* entity parsing, but the 4096 limit is enforced on what we send
too, so we budget the HTML-escaped text: ``&`` costs 5 units as ``&amp;``.

We split the *plain* text and escape each page afterwards, so an entity can never be cut.
Preference order for a cut: paragraph ("\\n\\n"), sentence end (. ! ? 。！？), whitespace,
and only when a single word is longer than a page, between characters (never inside a
surrogate pair, emoji ZWJ sequence or before a combining mark). The result depends only on
the input text and the limits, so page N is stable across renders.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Final

from bot.rules import utf16_len

Escaper = Callable[[str], str]

_PARAGRAPH_RE: Final = re.compile(r"\n[ \t]*\n\s*")
# A sentence ends at . ! ? (followed by whitespace) or at CJK 。！？ (no space needed);
# closing quotes/brackets stay with their sentence.
_SENTENCE_RE: Final = re.compile(
    r"(?<=[.!?])\s+|(?<=[.!?][\"'”’)\]])\s+"
    r"|(?<=[。！？])(?![”’」』）】\s])|(?<=[。！？])\s+|(?<=[。！？][”’」』）】])\s*"
)
_SPACE_RE: Final = re.compile(r"\s+")

_ZWJ: Final = "\u200d"
_NO_BREAK_BEFORE: Final = frozenset({_ZWJ, "\ufe0e", "\ufe0f", "\u20e3"})


def escape(text: str) -> str:
    """The escaping every renderer uses for text nodes and attribute values."""
    return html.escape(text, quote=True)


def cost(text: str, escaper: Escaper = escape) -> int:
    """UTF-16 units ``text`` takes once escaped."""
    return utf16_len(escaper(text))


def _char_costs(text: str, escaper: Escaper) -> list[int]:
    # Escaping is per character, so a string's cost is the sum of its characters' costs.
    return [utf16_len(escaper(ch)) for ch in text]


def _can_break_before(text: str, i: int) -> bool:
    ch = text[i]
    if ch in _NO_BREAK_BEFORE or unicodedata.combining(ch):
        return False
    if 0x1F3FB <= ord(ch) <= 0x1F3FF:  # skin-tone modifier belongs to the previous emoji
        return False
    if text[i - 1] == _ZWJ:
        return False
    # Regional-indicator pairs (flags): only break between pairs.
    if 0x1F1E6 <= ord(ch) <= 0x1F1FF:
        run = 0
        j = i - 1
        while j >= 0 and 0x1F1E6 <= ord(text[j]) <= 0x1F1FF:
            run += 1
            j -= 1
        if run % 2 == 1:
            return False
    return True


def _hard_split(text: str, limit: int, escaper: Escaper) -> list[str]:
    """Cut between characters, preferring grapheme-ish boundaries."""
    costs = _char_costs(text, escaper)
    pages: list[str] = []
    start = 0
    n = len(text)
    while start < n:
        total = 0
        end = start
        while end < n and total + costs[end] <= limit:
            total += costs[end]
            end += 1
        if end >= n:
            pages.append(text[start:])
            break
        cut = end
        while cut > start + 1 and not _can_break_before(text, cut):
            cut -= 1
        if cut <= start + 1 and not _can_break_before(text, cut):
            cut = end  # one cluster longer than a page: cut it anyway
        if cut == start:  # a single character costs more than the limit (tiny limits only)
            cut = start + 1
        pages.append(text[start:cut])
        start = cut
    return pages


def _pieces(text: str, pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """Split ``text`` at ``pattern`` keeping (piece, separator-after) pairs."""
    out: list[tuple[str, str]] = []
    pos = 0
    for match in pattern.finditer(text):
        if match.end() == pos:  # empty match where the last one ended
            continue
        piece = text[pos : match.start()]
        sep = match.group(0)
        if piece:
            out.append((piece, sep))
        elif out:
            prev_piece, prev_sep = out[-1]
            out[-1] = (prev_piece, prev_sep + sep)
        pos = match.end()
    if pos < len(text):
        out.append((text[pos:], ""))
    return out


_LEVELS: Final[tuple[re.Pattern[str], ...]] = (_PARAGRAPH_RE, _SENTENCE_RE, _SPACE_RE)


def _split(text: str, limit: int, level: int, escaper: Escaper) -> list[str]:
    if cost(text, escaper) <= limit:
        return [text]
    if level >= len(_LEVELS):
        return _hard_split(text, limit, escaper)
    pieces = _pieces(text, _LEVELS[level])
    if len(pieces) <= 1:
        return _split(text, limit, level + 1, escaper)

    pages: list[str] = []
    current = ""  # text of the page being filled (without trailing separator)
    current_cost = 0
    pending_sep = ""
    for piece, sep in pieces:
        piece_cost = cost(piece, escaper)
        if current:
            # Costs add up because escaping is per character (no quadratic re-measuring).
            joined = current_cost + cost(pending_sep, escaper) + piece_cost
            if joined <= limit:
                current += pending_sep + piece
                current_cost, pending_sep = joined, sep
                continue
            pages.append(current)
        if piece_cost <= limit:
            current, current_cost, pending_sep = piece, piece_cost, sep
            continue
        parts = _split(piece, limit, level + 1, escaper)
        pages.extend(parts[:-1])
        current, pending_sep = parts[-1], sep
        current_cost = cost(current, escaper)
    if current:
        pages.append(current)
    return pages


def paginate(
    text: str,
    limit: int,
    *,
    first_limit: int | None = None,
    escaper: Escaper = escape,
) -> list[str]:
    """Split ``text`` into plain-text pages whose escaped form costs ≤ ``limit`` UTF-16 units.

    ``first_limit`` (default ``limit``) applies to page 1, which usually shares the message
    with a longer header. Returns ``[]`` for blank text. Pages are stripped of surrounding
    whitespace; callers escape each page with :func:`escape` before sending.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    first = limit if first_limit is None else first_limit
    if first < 1:
        raise ValueError("first_limit must be positive")
    body = text.strip()
    if not body:
        return []
    if first == limit:
        return _clean(_split(body, limit, 0, escaper))
    # Page 1 has its own budget: cut it off, then split the remainder uniformly.
    head = _clean(_split(body, first, 0, escaper))[0]
    rest = body[_locate_end(body, head) :].strip()
    return [head, *(_clean(_split(rest, limit, 0, escaper)) if rest else [])]


def _locate_end(body: str, head: str) -> int:
    # Pages are stripped substrings taken in order, so page 1 starts at body[0].
    return len(head) if body.startswith(head) else body.find(head) + len(head)


def _clean(pages: Sequence[str]) -> list[str]:
    return [page.strip() for page in pages if page.strip()]


def truncate(text: str, max_cost: int, *, ellipsis: str = "…", escaper: Escaper = escape) -> str:
    """Shorten plain ``text`` so its escaped form fits ``max_cost``, ending at a word boundary
    (or between CJK characters) with ``ellipsis``. Returns the text unchanged if it fits."""
    text = " ".join(text.split())
    if cost(text, escaper) <= max_cost:
        return text
    room = max_cost - cost(ellipsis, escaper)
    if room <= 0:
        return ""
    # Every character costs at least one unit, so only this prefix can matter.
    text = text[: room + 1]
    costs = _char_costs(text, escaper)
    total = 0
    end = 0
    while end < len(text) and total + costs[end] <= room:
        total += costs[end]
        end += 1
    cut = end
    if 0 < end < len(text) and _mid_word(text[end - 1], text[end]):
        space = text.rfind(" ", 0, end)
        # Back up to the last space unless that throws away most of the room.
        if space > end // 2:
            cut = space
    while 0 < cut < len(text) and not _can_break_before(text, cut):
        cut -= 1
    head = text[:cut].rstrip(" ,;:、，；：-—")
    return head + ellipsis if head else ""


def _mid_word(before: str, after: str) -> bool:
    """True if a cut between these characters splits a space-separated word."""
    return _is_spaced_word_char(before) and _is_spaced_word_char(after)


def _is_spaced_word_char(ch: str) -> bool:
    """Letters/digits of languages that separate words with spaces (not CJK)."""
    if not ch.isalnum():
        return False
    name = unicodedata.name(ch, "")
    return not name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "FULLWIDTH"))
