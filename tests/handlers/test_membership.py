"""Being added to a group greets it; being removed or blocked stops the digest for that chat."""

from __future__ import annotations

from sqlmodel import Session

from storage.models import Chat
from tests.harness import Harness


def _active(bot: Harness, chat_id: int) -> bool:
    with Session(bot.deps.engine) as session:
        chat = session.get(Chat, chat_id)
    assert chat is not None
    return chat.active


async def test_added_to_a_group_greets_and_removal_deactivates(bot: Harness) -> None:
    boss = bot.fake.create_user("Boss", language_code="zh-hans")
    group = bot.fake.create_group(
        "AI 俱乐部", members=[boss], admins=[boss], creator=boss, bot_status="left"
    )
    await bot.fake.add_bot_to_group(group, boss)
    hello = await bot.fake.next_bot_message(group, timeout=10)
    assert "AI 俱乐部" in (hello.text or "") and "订阅" in " ".join(
        b["text"] for b in hello.buttons
    )
    await bot.command(group, boss, "/subscribe")
    await bot.fake.remove_bot_from_group(group, boss)
    await bot.fake.wait_for(lambda: not _active(bot, group.id) or None, timeout=10)
    assert not _active(bot, group.id)


async def test_blocking_the_bot_deactivates_the_private_chat(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    await bot.command(ann, ann, "/subscribe")
    await bot.fake.block_bot(ann)
    await bot.fake.wait_for(lambda: not _active(bot, ann.id) or None, timeout=10)
    assert not _active(bot, ann.id)
