"""Text and reply markup checked as Telegram checks them."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
)

from bot.emulator import (
    FakeTelegram,
)

pytestmark = pytest.mark.asyncio


async def test_html_entities_in_utf16(bot: Bot, fake: FakeTelegram) -> None:
    user = fake.create_user("Ann")
    html = (
        '👋 <b>你好</b> <i>wörld</i> <a href="https://example.com">link</a>\n'
        '<pre><code class="language-python">x = 1 &lt; 2</code></pre> &amp; '
        "<tg-spoiler>s</tg-spoiler> <blockquote expandable>q</blockquote>"
    )
    message = await bot.send_message(user.id, html, parse_mode=ParseMode.HTML)
    assert message.text == "👋 你好 wörld link\nx = 1 < 2 & s q"
    got = [(e.type, e.offset, e.length) for e in message.entities]
    assert got == [
        ("bold", 3, 2),  # "👋" is two UTF-16 code units
        ("italic", 6, 5),
        ("text_link", 12, 4),
        ("pre", 17, 9),
        ("spoiler", 29, 1),
        ("expandable_blockquote", 31, 1),
    ]
    assert message.entities[2].url == "https://example.com/"
    assert message.entities[3].language == "python"
    assert message.parse_entity(message.entities[0]) == "你好"
    assert message.parse_entity(message.entities[3]) == "x = 1 < 2"
    stored = fake.bot_messages(user)[-1]
    assert stored.entity_text(stored.entities[1]) == "wörld"


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("AT&T", "Unsupported HTML entity at byte offset 2"),
        ("</b>", "Unexpected end tag at byte offset 0"),
    ],
)
async def test_invalid_html_is_rejected(
    bot: Bot, fake: FakeTelegram, html: str, error: str
) -> None:
    user = fake.create_user()
    with pytest.raises(BadRequest, match="Can't parse entities") as caught:
        await bot.send_message(user.id, html, parse_mode=ParseMode.HTML)
    assert error.lower() in str(caught.value).lower()
    assert fake.bot_messages(user) == []
    assert fake.requests[-1].status == 400


async def test_text_length_and_emptiness(bot: Bot, fake: FakeTelegram) -> None:
    user = fake.create_user()
    await bot.send_message(user.id, "😀" * 2048)  # exactly 4096 UTF-16 code units
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(user.id, "😀" * 2048 + "x")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(user.id, "<b> </b>", parse_mode=ParseMode.HTML)


async def test_inline_keyboard_validation(bot: Bot, fake: FakeTelegram) -> None:
    user = fake.create_user()
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("é", callback_data="é" * 32)]])
    await bot.send_message(user.id, "ok", reply_markup=ok)  # 64 bytes of UTF-8
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="a" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(user.id, "x", reply_markup=too_long)
    bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("x", url="javascript:alert(1)")]])
    with pytest.raises(BadRequest, match=r"(?i)button_url_invalid"):
        await bot.send_message(user.id, "x", reply_markup=bad_url)
    wide = InlineKeyboardMarkup(
        [[InlineKeyboardButton(str(i), callback_data=str(i)) for i in range(9)]]
    )
    with pytest.raises(BadRequest, match=r"(?i)too many buttons in a row"):
        await bot.send_message(user.id, "x", reply_markup=wide)
    many = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(str(r), callback_data=f"{r}-{c}") for c in range(8)]
            for r in range(13)
        ]
    )
    with pytest.raises(BadRequest, match=r"(?i)reply_markup_too_long"):
        await bot.send_message(user.id, "x", reply_markup=many)
    text_only = InlineKeyboardMarkup([[InlineKeyboardButton("x")]])
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot.send_message(user.id, "x", reply_markup=text_only)
    assert [m.text for m in fake.bot_messages(user)] == ["ok"]
