"""The bot's commands per scope and language."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
)
from telegram.error import (
    BadRequest,
)

from bot.emulator import (
    FakeTelegram,
)

pytestmark = pytest.mark.asyncio


async def test_commands_per_scope_and_language(bot: Bot, fake: FakeTelegram) -> None:
    await bot.set_my_commands([("start", "Start"), ("digest", "Digest")])
    await bot.set_my_commands([("start", "Старт")], language_code="ru")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "digest"]
    assert fake.commands_for("ru") == [{"command": "start", "description": "Старт"}]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("Bad-Name", "x")])
    await bot.delete_my_commands(language_code="ru")
    assert fake.commands_for("ru") == []


async def test_descriptions_per_language_within_telegrams_limits(
    bot: Bot, fake: FakeTelegram
) -> None:
    await bot.set_my_description("A daily digest.", language_code="en")
    await bot.set_my_short_description("每日摘要", language_code="zh")
    assert fake.description_for("en") == "A daily digest."
    assert fake.description_for("zh", short=True) == "每日摘要"
    assert fake.description_for("ru") is None
    await bot.set_my_description("x" * 512)  # exactly the limit is fine
    with pytest.raises(BadRequest, match="too long"):
        await bot.set_my_description("x" * 513)
    with pytest.raises(BadRequest, match="too long"):
        await bot.set_my_short_description("x" * 121, language_code="en")
    with pytest.raises(BadRequest, match="language code"):
        await bot.set_my_description("x", language_code="zh-hant")  # two letters only
