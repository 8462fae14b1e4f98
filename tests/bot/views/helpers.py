"""What every renderer test shares: a strict Telegram-HTML checker and sample articles."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.rules import MESSAGE_LIMIT, utf16_len
from bot.views import callbacks as cb
from bot.views.common import MAX_ROW
from storage.schemas import ArticleView, TagInfo

SEED = Path("/work/shared/seed/seed-article.json")

# --- strict Telegram-HTML checker --------------------------------------------------------

_ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "tg-spoiler", "blockquote", "span",
}  # fmt: skip
_ENTITY_RE = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            self.errors.append(f"tag <{tag}> not allowed")
        if tag == "a":
            names = [name for name, _ in attrs]
            href = dict(attrs).get("href")
            if names != ["href"] or not href or not href.startswith(("http://", "https://")):
                self.errors.append(f"bad <a> attributes {attrs}")
        elif tag == "blockquote" and attrs not in ([], [("expandable", None)]):
            self.errors.append(f"unexpected attributes on <blockquote>: {attrs}")
        elif attrs and tag != "blockquote":
            self.errors.append(f"unexpected attributes on <{tag}>: {attrs}")
        if tag in self.stack and tag != "span":
            self.errors.append(f"nested <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack})")
            return
        self.stack.pop()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing <{tag}/>")

    def handle_comment(self, data: str) -> None:
        self.errors.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.errors.append("declaration")


def assert_telegram_html(text: str) -> None:
    """Only Telegram's tags, balanced, attributes quoted, only valid entities, ≤ 4096."""
    assert utf16_len(text) <= MESSAGE_LIMIT, utf16_len(text)
    # Every '&' must start a valid entity; every '<' must start a tag.
    for match in re.finditer("&", text):
        assert _ENTITY_RE.match(text, match.start()), text[match.start() : match.start() + 12]
    for match in re.finditer("<", text):
        assert re.match(r"</?[a-z-]+[ >]", text[match.start() : match.start() + 20]), text[
            match.start() : match.start() + 20
        ]
    assert ">" not in re.sub(r"<[^<>]*>", "", text), "stray '>'"
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    assert not parser.errors, parser.errors
    assert not parser.stack, f"unclosed tags {parser.stack}"


def all_buttons(keyboard: InlineKeyboardMarkup | None) -> Iterator[InlineKeyboardButton]:
    if keyboard is None:
        return
    for row in keyboard.inline_keyboard:
        assert 1 <= len(row) <= MAX_ROW
        yield from row


def assert_keyboard_ok(keyboard: InlineKeyboardMarkup | None) -> None:
    for button in all_buttons(keyboard):
        assert button.text
        if button.callback_data is not None:
            assert isinstance(button.callback_data, str)
            assert len(button.callback_data.encode()) <= 64
            assert cb.decode(button.callback_data) is not None, button.callback_data
        if button.url is not None:
            assert button.url.startswith(("https://", "http://"))


def assert_rendered(rendered: tuple[str, InlineKeyboardMarkup | None]) -> str:
    text, keyboard = rendered
    assert_telegram_html(text)
    assert_keyboard_ok(keyboard)
    return text


# --- sample articles ---------------------------------------------------------------------


def make_tag(i: int, en: str, zh: str, count: int = 0) -> TagInfo:
    return TagInfo(
        id=i, slug=en.lower().replace(" ", "-"), names={"en": en, "zh": zh}, article_count=count
    )


def load_seed() -> ArticleView:
    data = json.loads(SEED.read_text(encoding="utf-8"))
    tags = tuple(
        TagInfo(id=i, slug=t["slug"], names=t["name"]) for i, t in enumerate(data["tags"], 1)
    )
    return ArticleView(
        id=7,
        external_id=data["id"],
        url=data["url"],
        source=data["source"],
        title=data["title"],
        summary=data["summary"],
        analysis=data["analysis"],
        hot=data["scores"]["hot"],
        quality=data["scores"]["quality"],
        impact=data["scores"]["impact"],
        published_at=datetime.fromisoformat(data["published_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        views=data["views"],
        ai_generated=data["ai_generated"],
        tags=tags,
    )


def maximal(i: int) -> ArticleView:
    # Worst case for size: long titles full of characters that escape to 5-6 units.
    ugly = "<&>\"'" * 200
    return ArticleView(
        id=2**31 - 1 - i,
        external_id=f"x{i}",
        url="https://example.com/" + "a" * 2000,
        source="S" * 300,
        title={"en": "T&" * 1000 + " 😀" * 300, "zh": "标题" * 1000},
        summary={"en": ugly + " word" * 2000, "zh": "摘要" * 3000},
        analysis={"en": ("Sentence & <b>. " * 400 + "\n\n") * 10, "zh": "分析。" * 12000},
        hot=100,
        quality=100,
        impact=100,
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 2, tzinfo=UTC),
        views=2**31 - 1,
        ai_generated=True,
        tags=tuple(make_tag(j, "Tag&" * 30, "标签" * 30) for j in range(12)),
    )


NOW = datetime(2026, 6, 16, 1, 0, tzinfo=UTC)  # seed published 2026-06-15 09:00+08:00 + 1 day
