"""Inline mode: @bot words in any chat."""

from __future__ import annotations

from tests.harness import Harness


async def test_inline_query_answers_matching_cards(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    query_id = await bot.fake.inline_query(ann, "margin")
    answer = await bot.fake.wait_for_inline_answer(query_id, timeout=10)
    results = answer.results
    assert results and len(results) <= 50
    first = results[0]
    assert "Margin" in first["title"]
    assert first["input_message_content"]["parse_mode"] == "HTML"
    button = first["reply_markup"]["inline_keyboard"][0][0]
    assert button["url"].startswith(f"https://t.me/{bot.fake.bot.username}?start=a")


async def test_empty_inline_query_gives_todays_top_in_the_users_language(bot: Harness) -> None:
    li = bot.fake.create_user("李雷", language_code="zh-hans")
    query_id = await bot.fake.inline_query(li, "")
    answer = await bot.fake.wait_for_inline_answer(query_id, timeout=10)
    assert answer.results
    assert any("\u4e00" <= ch <= "\u9fff" for ch in answer.results[0]["title"])


async def test_share_button_inline_query_offers_exactly_that_article(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    query_id = await bot.fake.inline_query(ann, "a1")
    answer = await bot.fake.wait_for_inline_answer(query_id, timeout=10)
    assert [r["id"] for r in answer.results] == ["1"]
