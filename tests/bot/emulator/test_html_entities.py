"""HTML parse mode and entity detection, as tdlib does them."""

from __future__ import annotations

import pytest

from bot.emulator import (
    FakeTelegram,
    parse_html,
)
from tests.bot.emulator.support import TOKEN

pytestmark = pytest.mark.asyncio


async def test_auto_detected_entities_and_trimming() -> None:
    fake = FakeTelegram(TOKEN)
    text, entities = fake.format_text(
        "  see https://example.com/x. or /help @someone \n", None, None
    )
    assert text == "see https://example.com/x. or /help @someone"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("url", 4, 21),
        ("bot_command", 30, 5),
        ("mention", 36, 8),
    ]


async def test_parse_html_is_lenient_about_ampersand_when_asked() -> None:
    assert parse_html("AT&T &lt", strict_ampersand=False) == ("AT&T <", [])
