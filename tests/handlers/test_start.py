from __future__ import annotations

from tests.harness import Harness


async def test_start_greets_in_english_with_buttons(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann", language_code="en")
    reply = await bot.command(ann, ann, "/start")
    assert "Hi, Ann!" in (reply.text or "")
    labels = [b["text"] for b in reply.buttons]
    assert any("Subscribe" in label for label in labels)
    assert any("Language" in label for label in labels)


async def test_start_greets_in_chinese_for_chinese_telegram_users(bot: Harness) -> None:
    li = bot.fake.create_user("李雷", language_code="zh-hans")
    reply = await bot.command(li, li, "/start")
    assert "李雷" in (reply.text or "")
    assert any("订阅" in b["text"] for b in reply.buttons)
