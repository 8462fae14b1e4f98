"""Rich-message HTML (``sendRichMessage``) checked as Telegram does, then reduced to blocks.

The rules (tags, attributes, nesting, limits) are the subset in ``bot.rules``; where they come
from, and which error wording is Telegram's own, is in docs/rich-messages.md. The result keeps
three views of one message: the plain text (what tests and search read), the blocks in the Bot
API's ``RichMessage`` shape (what ``message_dict`` returns) and a re-serialised HTML that holds
only what was validated (what the sandbox web chat may put into the page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from typing import Any

from bot.rules import (
    RICH_ATTRIBUTES,
    RICH_BLOCK_TAGS,
    RICH_INLINE_TAGS,
    RICH_MAX_BLOCKS,
    RICH_MAX_DEPTH,
    RICH_MAX_TABLE_COLUMNS,
    RICH_MESSAGE_LIMIT,
)

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Blocks whose content is text with inline formatting only.
_TEXT_BLOCKS = _HEADINGS | {"p", "pre", "footer", "summary", "th", "td", "caption"}
# Where text and inline tags may appear.
_TEXT_PARENTS = _TEXT_BLOCKS | RICH_INLINE_TAGS | {"li"}
# Blocks that hold other blocks (``li`` may hold either).
_CONTAINERS = {"blockquote", "details", "li"}
# Where a block may appear: parent tag -> allowed children ("" is the message itself).
_TOP_LEVEL = {"p", "pre", "footer", "hr", "ul", "ol", "blockquote", "table", "details"}
_TOP_LEVEL |= _HEADINGS
_CHILDREN: dict[str, set[str]] = {
    "": _TOP_LEVEL,
    "blockquote": _TOP_LEVEL,
    "details": _TOP_LEVEL | {"summary"},
    "li": _TOP_LEVEL,
    "ul": {"li"},
    "ol": {"li"},
    "table": {"caption", "tr"},
    "tr": {"th", "td"},
}
_VOID = {"hr", "br"}
_LINK_SCHEMES = ("http://", "https://", "tg://", "mailto:")


class RichParseError(ValueError):
    """The message Telegram would refuse; the text follows "can't parse rich message: "."""


@dataclass
class RichDocument:
    text: str
    blocks: list[dict[str, Any]]
    html: str


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node | str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.root = _Node("", {})
        self.stack: list[_Node] = [self.root]
        self.blocks = 0

    def _offset(self) -> int:
        line, column = self.getpos()
        lines = self.source.split("\n")
        chars = sum(len(x) + 1 for x in lines[: line - 1]) + column
        return len(self.source[:chars].encode("utf-8"))

    def _fail(self, message: str) -> None:
        raise RichParseError(f"{message} at byte offset {self._offset()}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self.stack[-1]
        if tag == "br":
            if parent.tag in _TEXT_PARENTS:
                parent.children.append("\n")
                return
            self._fail('Unexpected start tag "br"')
        if tag not in RICH_BLOCK_TAGS and tag not in RICH_INLINE_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        allowed = RICH_ATTRIBUTES.get(tag, frozenset())
        values: dict[str, str] = {}
        for name, value in attrs:
            if name not in allowed:
                self._fail(f'Unsupported attribute "{name}" of tag "{tag}"')
            values[name] = value or ""
        self._check_place(parent, tag, values)
        node = _Node(tag, values)
        parent.children.append(node)
        if tag in _VOID:
            self.blocks += 1
            return
        self.stack.append(node)
        if len(self.stack) - 1 > RICH_MAX_DEPTH:
            self._fail(f"Too deep nesting: at most {RICH_MAX_DEPTH} levels are allowed")
        if tag in RICH_BLOCK_TAGS and tag not in {"th", "td", "summary", "caption"}:
            self.blocks += 1
            if self.blocks > RICH_MAX_BLOCKS:
                self._fail(f"Too many blocks: at most {RICH_MAX_BLOCKS} are allowed")

    def _check_place(self, parent: _Node, tag: str, attrs: dict[str, str]) -> None:
        if tag in RICH_INLINE_TAGS:
            if parent.tag not in _TEXT_PARENTS:
                self._fail(f'Unexpected start tag "{tag}" outside of a text block')
            if tag == "a" and not attrs.get("href", "").lower().startswith(_LINK_SCHEMES):
                self._fail('Unsupported URL in tag "a"')
            return
        if parent.tag in _TEXT_BLOCKS or parent.tag in RICH_INLINE_TAGS:
            self._fail(f'Unexpected start tag "{tag}" inside of "{parent.tag}"')
        if tag not in _CHILDREN.get(parent.tag, set()):
            where = f'inside of "{parent.tag}"' if parent.tag else "at the top level"
            self._fail(f'Unexpected start tag "{tag}" {where}')
        if tag == "summary" and parent.children:
            self._fail('Tag "summary" must be the first child of "details"')
        if tag in {"th", "td"}:
            columns = sum(int(c.attrs.get("colspan") or 1) for c in _nodes(parent)) + int(
                attrs.get("colspan") or 1
            )
            if columns > RICH_MAX_TABLE_COLUMNS:
                self._fail(f"Too many table columns: at most {RICH_MAX_TABLE_COLUMNS}")
        for name in ("colspan", "rowspan"):
            if name in attrs and not (attrs[name].isdigit() and 1 <= int(attrs[name]) <= 100):
                self._fail(f'Invalid value of attribute "{name}"')

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if len(self.stack) == 1 or self.stack[-1].tag != tag:
            self._fail(f'Unexpected end tag "{tag}"')
        node = self.stack.pop()
        if node.tag in {"ul", "ol", "tr", "table"} and not _nodes(node):
            self._fail(f'Tag "{node.tag}" must not be empty')
        if node.tag == "details" and not (_nodes(node) and _nodes(node)[0].tag == "summary"):
            self._fail('Tag "details" must start with "summary"')

    def handle_data(self, data: str) -> None:
        parent = self.stack[-1]
        if parent.tag in _TEXT_PARENTS:
            parent.children.append(data)
        elif data.strip():
            where = f'inside of "{parent.tag}"' if parent.tag else "at the top level"
            self._fail(f"Unexpected text {where}")


def _nodes(node: _Node) -> list[_Node]:
    return [c for c in node.children if isinstance(c, _Node)]


def _plain(node: _Node | str) -> str:
    if isinstance(node, str):
        return node
    if node.tag in _TEXT_PARENTS and node.tag != "li":
        return "".join(_plain(c) for c in node.children)
    if node.tag == "tr":
        return " | ".join(_plain(c) for c in _nodes(node))
    if node.tag == "li":
        return "".join(
            _plain(c) if isinstance(c, str) or c.tag in RICH_INLINE_TAGS else "\n" + _plain(c)
            for c in node.children
        ).strip()
    if node.tag == "hr":
        return "—"
    return "\n".join(_plain(c) for c in _nodes(node))


def _block(node: _Node) -> dict[str, Any]:
    """The block in the Bot API's RichBlock shape; rich text is given as plain strings."""
    text = _plain(node)
    tag = node.tag
    if tag in _HEADINGS:
        return {"type": "heading", "text": text, "size": int(tag[1])}
    simple = {"p": "paragraph", "pre": "pre", "footer": "footer"}
    if tag in simple:
        return {"type": simple[tag], "text": text}
    if tag == "hr":
        return {"type": "divider"}
    if tag in {"ul", "ol"}:
        items = [{"blocks": [{"type": "paragraph", "text": _plain(li)}]} for li in _nodes(node)]
        return {"type": "list", "items": items}
    if tag == "blockquote":
        return {"type": "blockquote", "blocks": [_block(c) for c in _nodes(node)]}
    if tag == "details":
        summary, *rest = _nodes(node)
        found: dict[str, Any] = {
            "type": "details",
            "summary": _plain(summary),
            "blocks": [_block(c) for c in rest],
        }
        if "open" in node.attrs:
            found["is_open"] = True
        return found
    rows = [r for r in _nodes(node) if r.tag == "tr"]
    cells = [
        [{"text": _plain(c), **({"is_header": True} if c.tag == "th" else {})} for c in _nodes(r)]
        for r in rows
    ]
    table: dict[str, Any] = {"type": "table", "cells": cells}
    table.update({f"is_{k}": True for k in ("bordered", "striped") if k in node.attrs})
    return table


def _html(node: _Node | str) -> str:
    if isinstance(node, str):
        return escape(node, quote=False)
    attrs = "".join(f' {k}="{escape(v)}"' for k, v in node.attrs.items())
    if node.tag in _VOID:
        return f"<{node.tag}{attrs}>"
    inner = "".join(_html(c) for c in node.children)
    return f"<{node.tag}{attrs}>{inner}</{node.tag}>" if node.tag else inner


def parse_rich_html(source: str) -> RichDocument:
    """Validate ``source``; raises RichParseError with Telegram's kind of message."""
    parser = _Parser(source)
    parser.feed(source)
    parser.close()
    if len(parser.stack) > 1:
        raise RichParseError(
            f'Can\'t find end tag corresponding to start tag "{parser.stack[-1].tag}"'
        )
    root = parser.root
    top = [n for n in _nodes(root)]
    if not top:
        raise RichParseError("Text must be non-empty")
    text = "\n".join(_plain(n) for n in top).strip()
    if not text:
        raise RichParseError("Text must be non-empty")
    if len(text) > RICH_MESSAGE_LIMIT:
        raise RichParseError(
            f"Text is too long: {len(text)} characters, at most {RICH_MESSAGE_LIMIT} are allowed"
        )
    return RichDocument(text=text, blocks=[_block(n) for n in top], html=_html(root))
