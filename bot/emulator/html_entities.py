"""Telegram message formatting: HTML parse mode, entity normalisation and auto-detection.

Follows tdlib's ``parse_html`` (the code Telegram runs for ``parse_mode=HTML``): same tags,
same attribute handling, same error texts. Offsets and lengths are in UTF-16 code units.
It is longer than most modules because it is one port: the parser, entity closing and
normalisation share tdlib's offsets and error texts, and split apart they would hide that.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from bot.rules import ALLOWED_HTML_TAGS, utf16_len

Entity = dict[str, Any]

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
    }
)
# tdlib's MessageEntity::get_type_priority, used to order entities sharing offset and length.
_PRIORITY = {
    "mention": 50,
    "hashtag": 50,
    "bot_command": 50,
    "url": 50,
    "email": 50,
    "cashtag": 50,
    "phone_number": 50,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
    "code": 20,
    "pre": 11,
    "text_link": 49,
    "text_mention": 49,
    "blockquote": 0,
    "expandable_blockquote": 0,
}
_SPACES = " \t\r\n\0\v"
_LINK_SCHEMES = ("http", "https", "tg", "ton", "tonsite")


class EntityParseError(ValueError):
    """The text cannot be parsed; str() is the part after ``can't parse entities: ``."""


def _char_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def normalize_link(url: str) -> str | None:
    """Telegram's check_link: None if the link is rejected (the entity is then dropped)."""
    url = url.strip()
    if not url:
        return None
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", url)
    if match and not re.match(r"[A-Za-z0-9.-]+:\d", url):  # "host:8080" is not a scheme
        scheme = match.group(1).lower()
        if scheme not in _LINK_SCHEMES:
            return None
        if scheme in ("tg", "ton", "tonsite"):
            return url
        if not url[match.end() :].startswith("//"):
            return None
    else:
        url = "http://" + url  # Telegram treats "example.com" as http://example.com/
        scheme = "http"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host or not re.fullmatch(r"[A-Za-z0-9._~\-\[\]:\u00a0-\uffff]+", host):
        return None
    path = parts.path or "/"
    rebuilt = f"{scheme}://{parts.netloc}{path}"
    if parts.query:
        rebuilt += f"?{parts.query}"
    if parts.fragment:
        rebuilt += f"#{parts.fragment}"
    return rebuilt


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """tdlib's decode_html_entity: (character, position after it) or None."""
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        value = 0
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                value = value * 16 + int(text[end], 16)
                end += 1
                if value >= 0x10FFFF:
                    return None
        else:
            while end < n and text[end].isascii() and text[end].isdigit():
                value = value * 10 + int(text[end])
                end += 1
                if value >= 0x10FFFF:
                    return None
        if value == 0 or 0xD800 <= value <= 0xDFFF:
            return None
        char = chr(value)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < n and text[end] == ";":
        end += 1
    return char, end


class _Open:
    __slots__ = ("argument", "byte_pos", "offset", "result_pos", "tag")

    def __init__(self, tag: str, argument: str, offset: int, result_pos: int, byte_pos: int):
        self.tag = tag
        self.argument = argument
        self.offset = offset
        self.result_pos = result_pos
        self.byte_pos = byte_pos


def parse_html(source: str, *, strict_ampersand: bool = True) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into (plain text, entities).

    ``strict_ampersand``: Telegram's docs require every ``&`` outside an entity to be escaped,
    but the real server silently keeps a bare ``&``; strict mode rejects it so bots escape.
    """
    text = source
    n = len(text)
    byte_offsets: list[int] = []
    total = 0
    for ch in text:
        byte_offsets.append(total)
        total += len(ch.encode("utf-8", "surrogatepass"))
    byte_offsets.append(total)

    def at(i: int) -> str:
        return text[i] if i < n else "\0"

    result: list[str] = []
    offset = 0  # UTF-16 offset in the result
    entities: list[Entity] = []
    stack: list[_Open] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                char, i = decoded
                result.append(char)
                offset += _char_units(char)
                continue
            if strict_ampersand:
                raise EntityParseError(
                    f'Unsupported HTML entity at byte offset {byte_offsets[i]}: "&" must be '
                    'written as "&amp;"'
                )
        if c != "<":
            result.append(c)
            offset += _char_units(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {byte_offsets[begin]}")
            tag = text[begin + 1 : i].lower()
            if tag not in ALLOWED_HTML_TAGS:
                raise EntityParseError(
                    f'Unsupported start tag "{tag}" at byte offset {byte_offsets[begin]}'
                )
            argument = ""
            while at(i) != ">":
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                attr_begin = i
                while at(i) not in _SPACES and at(i) != "=" and at(i) != ">":
                    i += 1
                attr_name = text[attr_begin:i]
                if not attr_name:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{byte_offsets[begin]}"
                    )
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr_name == "expandable":
                        argument = "1"
                        continue
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {byte_offsets[begin]}'
                    )
                i += 1
                while i < n and at(i) in _SPACES:
                    i += 1
                if i >= n:
                    raise EntityParseError(
                        f'Unclosed start tag "{tag}" at byte offset {byte_offsets[begin]}'
                    )
                value_chars: list[str] = []
                if at(i) not in "'\"":
                    token_begin = i
                    while at(i).isascii() and (at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _SPACES and at(i) != ">":
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset "
                            f"{byte_offsets[token_begin]}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded = _decode_entity(text, i)
                            if decoded is not None:
                                value_chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        value_chars.append(text[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(value_chars)
                if i >= n:
                    raise EntityParseError(
                        f"Unclosed start tag at byte offset {byte_offsets[begin]}"
                    )
                if tag == "a" and attr_name == "href":
                    argument = value
                elif tag == "code" and attr_name == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attr_name == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attr_name == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offsets[begin]}'
                )
            stack.append(_Open(tag, argument, offset, len(result), byte_offsets[begin]))
            i += 1  # skip '>'
            continue

        # End tag.
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {byte_offsets[begin]}")
        while at(i) not in _SPACES and at(i) != ">":
            i += 1
        end_name = text[begin + 2 : i]
        while i < n and at(i) in _SPACES:
            i += 1
        if at(i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {byte_offsets[begin]}")
        i += 1
        top = stack.pop()
        if end_name and end_name.lower() != top.tag:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {byte_offsets[begin]}, expected "
                f'"</{top.tag}>", found "</{end_name}>"'
            )
        if offset > top.offset:
            _close_entity(top, offset, "".join(result[top.result_pos :]), entities)

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return "".join(result), entities


def _same_span(entities: list[Entity], kind: str, start: int, length: int) -> Entity | None:
    """The last entity if it is a ``kind`` spanning exactly ``start``/``length``: a
    ``<pre><code class="language-x">`` pair becomes one ``pre`` entity with a language."""
    last = entities[-1] if entities else None
    if (
        last is not None
        and last["type"] == kind
        and (last["offset"], last["length"])
        == (
            start,
            length,
        )
    ):
        return last
    return None


def _close_entity(top: _Open, end: int, inner_text: str, entities: list[Entity]) -> None:
    start, length = top.offset, end - top.offset
    tag = top.tag
    if tag in _SIMPLE_TAGS:
        entities.append({"type": _SIMPLE_TAGS[tag], "offset": start, "length": length})
    elif tag == "a":
        url = normalize_link(top.argument or inner_text)
        if url is not None:
            entities.append({"type": "text_link", "offset": start, "length": length, "url": url})
    elif tag == "tg-emoji":
        if not top.argument.isdigit():
            raise EntityParseError("Invalid custom emoji identifier specified")
        entities.append(
            {
                "type": "custom_emoji",
                "offset": start,
                "length": length,
                "custom_emoji_id": top.argument,
            }
        )
    elif tag == "blockquote":
        kind = "expandable_blockquote" if top.argument else "blockquote"
        entities.append({"type": kind, "offset": start, "length": length})
    elif tag == "pre":
        inner = _same_span(entities, "code", start, length)
        if inner is not None and inner.get("language"):
            inner["type"] = "pre"
        else:
            entities.append({"type": "pre", "offset": start, "length": length})
    elif tag == "code":
        outer = _same_span(entities, "pre", start, length)
        if outer is not None and top.argument:
            outer["language"] = top.argument
        else:
            entity: Entity = {"type": "code", "offset": start, "length": length}
            if top.argument:
                entity["language"] = top.argument  # only kept if a <pre> wraps it
            entities.append(entity)


def sort_entities(entities: list[Entity]) -> list[Entity]:
    return sorted(
        entities,
        key=lambda e: (e["offset"], -e["length"], _PRIORITY.get(e["type"], 50)),
    )


_AUTO_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "email",
        re.compile(
            r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
        ),
    ),
    ("url", re.compile(r"(?<![\w@/])(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,32}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
    ("cashtag", re.compile(r"(?<![\w$])\$[A-Z]{1,8}(?![\w])")),
    (
        "bot_command",
        re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])"),
    ),
]
_NO_AUTO_INSIDE = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def find_auto_entities(text: str, existing: list[Entity]) -> list[Entity]:
    """Entities Telegram detects by itself (links, @mentions, #hashtags, /commands, e-mails)."""
    prefix = [0]
    for ch in text:
        prefix.append(prefix[-1] + _char_units(ch))
    blocked = [
        (e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _NO_AUTO_INSIDE
    ]
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.start(), match.end()
            if kind == "url":
                while end > start and text[end - 1] in ".,;:!?'\")]}":
                    end -= 1
            u_start, u_end = prefix[start], prefix[end]
            if u_end <= u_start:
                continue
            if any(a < u_end and u_start < b for a, b in blocked + taken):
                continue
            taken.append((u_start, u_end))
            found.append({"type": kind, "offset": u_start, "length": u_end - u_start})
    return found


def finalize_text(
    text: str, entities: list[Entity], *, detect_auto: bool = True
) -> tuple[str, list[Entity]]:
    """Trim surrounding whitespace, drop entities nested in code/pre, add auto-detected ones."""
    left = len(text) - len(text.lstrip(" \n"))
    trimmed = text.strip(" \n\t\r")
    shift = utf16_len(text[:left])
    size = utf16_len(trimmed)
    fixed: list[Entity] = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(size, entity["offset"] + entity["length"] - shift)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    for entity in fixed:
        if entity["type"] == "code":
            entity.pop("language", None)
    # Nothing may nest inside code/pre; outer entities sort first, and pre before code.
    kept: list[Entity] = []
    spans: list[tuple[int, int]] = []
    for entity in sort_entities(fixed):
        start, end = entity["offset"], entity["offset"] + entity["length"]
        if any(a <= start and end <= b for a, b in spans):
            continue
        kept.append(entity)
        if entity["type"] in ("code", "pre"):
            spans.append((start, end))
    fixed = kept
    if detect_auto:
        fixed.extend(find_auto_entities(trimmed, fixed))
    return trimmed, sort_entities(fixed)


def validate_entities(text: str, raw: Any) -> list[Entity]:
    """Validate an explicit ``entities`` parameter (used instead of parse_mode)."""
    if not isinstance(raw, list):
        raise EntityParseError("entities must be an array")
    size = utf16_len(text)
    entities: list[Entity] = []
    for item in raw:
        if not isinstance(item, dict):
            raise EntityParseError("entity must be an object")
        kind = item.get("type")
        offset = item.get("offset")
        length = item.get("length")
        if kind not in ENTITY_TYPES:
            raise EntityParseError(f"unsupported entity type {kind!r}")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0:
            raise EntityParseError("entity offset and length must be integers")
        if length <= 0 or offset + length > size:
            continue  # Telegram silently drops empty and out-of-range entities
        entity: Entity = {"type": kind, "offset": offset, "length": length}
        if kind == "text_link":
            url = normalize_link(str(item.get("url", "")))
            if url is None:
                continue
            entity["url"] = url
        elif kind == "pre" and item.get("language"):
            entity["language"] = str(item["language"])
        elif kind == "text_mention":
            if not isinstance(item.get("user"), dict):
                raise EntityParseError("text_mention entity must have a user")
            entity["user"] = item["user"]
        elif kind == "custom_emoji":
            entity["custom_emoji_id"] = str(item.get("custom_emoji_id", ""))
        entities.append(entity)
    return entities
