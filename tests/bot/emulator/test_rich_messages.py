"""sendRichMessage checked as Telegram checks it: tags, attributes, nesting, limits."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Bot, Message
from telegram.error import BadRequest, EndPointNotFound

from bot.emulator import FakeTelegram
from bot.emulator.rich_html import RichParseError, parse_rich_html
from bot.rules import RICH_MAX_BLOCKS, RICH_MAX_TABLE_COLUMNS, RICH_MESSAGE_LIMIT

PAGE = (
    "<h2>Title &amp; more</h2>"
    "<table bordered><tr><th>Hot</th><th>Quality</th></tr><tr><td>65</td><td>60</td></tr></table>"
    "<p>Summary with <b>bold</b> and <a href='https://example.com'>a link</a>.</p>"
    "<details><summary>Analysis</summary><p>One.</p><p>Two.</p></details>"
    "<ul><li>first</li><li>second</li></ul>"
    "<footer><i>AI-generated</i></footer>"
)


async def _send(bot: Bot, chat_id: int, html: str) -> Message:
    kwargs: dict[str, Any] = {"chat_id": chat_id, "rich_message": {"html": html}}
    result = await bot.do_api_request("sendRichMessage", api_kwargs=kwargs, return_type=Message)
    assert isinstance(result, Message)
    return result


@pytest.mark.asyncio
async def test_a_page_becomes_blocks_text_and_safe_html(bot: Bot, fake: FakeTelegram) -> None:
    user = fake.create_user("Ann")
    sent = await _send(bot, user.id, PAGE)
    stored = fake.get_message(user, sent.message_id)
    assert stored.text is not None and "Title & more" in stored.text
    assert "Hot | Quality" in stored.text and "One.\nTwo." in stored.text
    assert stored.rich is not None
    kinds = [b["type"] for b in stored.rich["blocks"]]
    assert kinds == ["heading", "table", "paragraph", "details", "list", "footer"]
    assert stored.rich["blocks"][1]["cells"][0][0] == {"text": "Hot", "is_header": True}
    assert stored.rich["blocks"][1]["is_bordered"] is True
    assert (
        stored.rich_html is not None and "<details><summary>Analysis</summary>" in stored.rich_html
    )
    assert sent.api_kwargs.get("rich_message") == stored.rich  # PTB keeps the unknown field


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<p>x</p><script>x</script>", 'Unsupported start tag "script" at byte offset 8'),
        ('<p style="x">x</p>', 'Unsupported attribute "style" of tag "p"'),
        ("<p><p>x</p></p>", 'Unexpected start tag "p" inside of "p"'),
        ("<li>x</li>", 'Unexpected start tag "li" at the top level'),
        ("<b>x</b>", 'Unexpected start tag "b" outside of a text block'),
        ("loose text", "Unexpected text at the top level"),
        ("<details><p>x</p></details>", 'Tag "details" must start with "summary"'),
        ("<p>x</b></p>", 'Unexpected end tag "b"'),
        ("<p>x", 'Can\'t find end tag corresponding to start tag "p"'),
        ("<p><a href='javascript:x'>x</a></p>", 'Unsupported URL in tag "a"'),
        ("", "Text must be non-empty"),
    ],
)
def test_refusals_name_the_cause(html: str, error: str) -> None:
    with pytest.raises(RichParseError, match=error.replace("(", r"\(")):
        parse_rich_html(html)


def test_limits() -> None:
    with pytest.raises(RichParseError, match="Text is too long"):
        parse_rich_html("<p>" + "x" * (RICH_MESSAGE_LIMIT + 1) + "</p>")
    parse_rich_html("<p>" + "x" * RICH_MESSAGE_LIMIT + "</p>")
    with pytest.raises(RichParseError, match="Too many blocks"):
        parse_rich_html("<p>x</p>" * (RICH_MAX_BLOCKS + 1))
    with pytest.raises(RichParseError, match="Too deep nesting"):
        parse_rich_html("<blockquote>" * 17 + "<p>x</p>" + "</blockquote>" * 17)
    cells = "<td>x</td>" * (RICH_MAX_TABLE_COLUMNS + 1)
    with pytest.raises(RichParseError, match="Too many table columns"):
        parse_rich_html(f"<table><tr>{cells}</tr></table>")


@pytest.mark.asyncio
async def test_the_api_answers_400_with_telegrams_wording(bot: Bot, fake: FakeTelegram) -> None:
    user = fake.create_user("Ann")
    with pytest.raises(BadRequest, match=r"(?i)can't parse rich message: unsupported start tag"):
        await _send(bot, user.id, "<marquee>x</marquee>")
    assert fake.bot_messages(user) == []


@pytest.mark.asyncio
async def test_an_older_server_has_no_such_method(bot: Bot, fake: FakeTelegram) -> None:
    fake.rich_messages = False
    user = fake.create_user("Ann")
    with pytest.raises(EndPointNotFound):
        await _send(bot, user.id, PAGE)
