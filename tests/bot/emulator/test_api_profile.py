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
