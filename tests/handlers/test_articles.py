"""/top, /latest, /article, paging, /search, /share and deep links, as users try them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from bot.config import Settings
from bot.emulator import FakeMessage
from storage.articles import article_id_for_external
from tests.harness import Harness

SEED = "seed-margin-financing-2026"
# The seed page was read one day after publication, 19 hours after its update.
SEED_READ_AT = datetime(2026, 6, 16, 1, 0, tzinfo=UTC)
LONG = "sample-001"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The paged HTML detail view (what a server without rich messages gets); the rich one is
    tested in test_rich_articles.py."""
    return settings.model_copy(update={"rich_messages": False})


def _id(bot: Harness, external_id: str) -> int:
    with Session(bot.deps.engine) as session:
        found = article_id_for_external(session=session, external_id=external_id)
    assert found is not None
    return found


def _labels(message: FakeMessage) -> list[str]:
    return [b["text"] for b in message.buttons]


async def test_top_lists_scored_articles_with_detail_and_share_buttons(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann", language_code="en")
    reply = await bot.command(ann, ann, "/top 3")
    text = reply.text or ""
    assert text.startswith("🔥 Top stories")
    # Items carry the number /article and /share take (the id), shown on the buttons too.
    ids = [int(n) for n in re.findall(r"^#(\d+) · ", text, re.M)]
    assert len(ids) == 3
    assert {f"📖 {i}" for i in ids} | {f"↗ {i}" for i in ids} == set(_labels(reply))
    assert "🔥" in text and "⭐" in text and "💥" in text
    detail = await bot.command(ann, ann, f"/article {ids[0]}")
    assert "↗ Share" in _labels(detail)
    assert reply.entities_of("bold")


async def test_top_in_chinese_shows_chinese_titles(bot: Harness) -> None:
    li = bot.fake.create_user("李雷", language_code="zh-cn")
    reply = await bot.command(li, li, "/top")
    assert "热门" in (reply.text or "") or "头条" in (reply.text or "")
    assert re.search(r"[\u4e00-\u9fff]", (reply.text or "").split("\n", 2)[2])


async def test_top_rejects_a_bad_count(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    reply = await bot.command(ann, ann, "/top 99")
    assert "1 to 10" in (reply.text or "")


async def test_latest_is_newest_first(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    reply = await bot.command(ann, ann, "/latest")
    assert (reply.text or "").startswith("🆕")
    assert len(reply.buttons) == 10  # 5 articles × (read, share)


async def test_seed_detail_shows_everything_the_page_shows_in_english(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann", language_code="en")
    seed = _id(bot, SEED)
    bot.clock.now = SEED_READ_AT
    reply = await bot.command(ann, ann, f"/article {seed}")
    text = reply.text or ""
    assert "Two Markets' Margin Financing Balance Decreases by 76.61 Billion Yuan" in text
    assert "65" in text and "60" in text
    assert "Hot" in text and "Quality" in text and "Impact" in text
    assert "Finance AI" in text and "Research" in text
    assert "1 day ago · updated 19 hours ago" in text
    assert "45" in text
    assert "single-day evaporation" in text  # summary
    assert "Silicon Valley's AI titans" in text  # the analysis starts on page 1
    assert "AI" in text and ("reference" in text.lower())  # disclaimer
    assert any(e["type"] == "text_link" for e in reply.entities)  # source link
    assert "↗ Share" in _labels(reply)


async def test_seed_detail_in_chinese(bot: Harness) -> None:
    li = bot.fake.create_user("李雷", language_code="zh-hans")
    seed = _id(bot, SEED)
    bot.clock.now = SEED_READ_AT
    reply = await bot.command(li, li, f"/detail {seed}")
    text = reply.text or ""
    assert "两市融资余额减少76.61亿元" in text
    assert "金融AI" in text and "研究" in text
    assert "1天前 · 19小时前更新" in text
    assert "智能手机市场的警报" in text
    assert "仅供参考" in text


async def test_long_analysis_pages_are_edited_in_place(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    article = _id(bot, LONG)
    first = await bot.command(ann, ann, f"/article {article}")
    labels = _labels(first)
    indicator = next(label for label in labels if re.fullmatch(r"1/\d+", label))
    total = int(indicator.split("/")[1])
    assert total >= 2 and "›" in labels and "‹" not in labels
    await bot.press(ann, ann, first, "›")
    edited = bot.fake.get_message(ann, first.message_id)
    assert edited.history, "the page should be edited in place, not sent anew"
    assert f"2/{total}" in _labels(edited) and "‹" in _labels(edited)
    assert edited.text != first.history[0].text if first.history else True
    # Back again: still the same message.
    await bot.press(ann, ann, edited, "‹")
    assert f"1/{total}" in _labels(bot.fake.get_message(ann, first.message_id))
    assert len(bot.fake.bot_messages(ann)) == 1


async def test_list_button_opens_the_detail_as_a_new_message(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    listing = await bot.command(ann, ann, "/latest 2")
    answer = await bot.press(ann, ann, listing, _labels(listing)[0])
    assert not answer.show_alert
    detail = await bot.fake.next_bot_message(ann)
    assert detail.message_id != listing.message_id
    assert "↗ Share" in _labels(detail)


async def test_missing_and_malformed_article_ids_get_a_clear_answer(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    missing = await bot.command(ann, ann, "/article 999999")
    assert "999999" in (missing.text or "") and "not found" in (missing.text or "")
    usage = await bot.command(ann, ann, "/article abc")
    assert "/article 42" in (usage.text or "")
    huge = await bot.command(ann, ann, "/search " + "x" * 5000)
    assert "too long" in (huge.text or "")


async def test_search_finds_articles_in_both_languages(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    english = await bot.command(ann, ann, "/search margin financing")
    assert "Margin Financing" in (english.text or "")
    li = bot.fake.create_user("李雷", language_code="zh")
    chinese = await bot.command(li, li, "/search 融资")
    assert "融资" in (chinese.text or "")
    nothing = await bot.command(ann, ann, '/search "zzqx*" AND (')
    assert "Nothing found" in (nothing.text or "")


async def test_share_gives_a_deep_link_that_opens_the_article(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    seed = _id(bot, SEED)
    share = await bot.command(ann, ann, f"/share {seed}")
    urls = [b.get("url", "") for b in share.buttons]
    deep = f"https://t.me/{bot.fake.bot.username}?start=a{seed}"
    assert deep in (share.text or "") or deep in urls
    assert any(u.startswith("https://t.me/share/url?") for u in urls)
    assert any("switch_inline_query_chosen_chat" in b for b in share.buttons)
    bob = bot.fake.create_user("Bob")
    await bot.fake.start_bot(bob, f"a{seed}")
    opened = await bot.fake.next_bot_message(bob)
    assert "Margin Financing" in (opened.text or "")


async def test_unknown_command_is_answered_in_the_users_language(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    reply = await bot.command(ann, ann, "/frobnicate")
    assert "/help" in (reply.text or "")
    li = bot.fake.create_user("李雷", language_code="zh-tw")
    reply = await bot.command(li, li, "/frobnicate")
    assert re.search(r"[\u4e00-\u9fff]", reply.text or "")


async def test_forged_button_gets_a_polite_answer(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    listing = await bot.command(ann, ann, "/latest 1")
    # The fake only lets users press buttons that exist, so forge one on the bot's message.
    listing.reply_markup = {"inline_keyboard": [[{"text": "x", "callback_data": "zz:1"}]]}
    answer = await bot.press(ann, ann, listing, "x")
    assert answer.show_alert and "expired" in (answer.text or "")


async def test_article_missing_the_readers_language_is_labelled(bot: Harness) -> None:
    li = bot.fake.create_user("李雷", language_code="zh-hans")
    english_only = _id(bot, "sample-008")
    reply = await bot.command(li, li, f"/article {english_only}")
    text = reply.text or ""
    first_line = text.splitlines()[0]
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in first_line)  # the English title
    assert "英文" in text  # labelled: shown in English, no Chinese version


async def test_other_bots_commands_in_groups_are_left_alone(bot: Harness) -> None:
    boss = bot.fake.create_user("Boss")
    group = bot.fake.create_group("AI club", members=[boss], admins=[boss], creator=boss)
    await bot.fake.send_text(group, boss, "/frobnicate@some_other_bot")
    ours = await bot.command(group, boss, f"/frobnicate@{bot.fake.bot.username}")
    assert "/help" in (ours.text or "")
    assert len(bot.fake.bot_messages(group)) == 1  # only the answer to our own command


async def test_non_ascii_digits_get_the_usual_answer_not_an_error(bot: Harness) -> None:
    # "²", "①", "⁵" pass str.isdigit() but int() refuses them; "٣" and "３" int() would take.
    ann = bot.fake.create_user("Ann")
    li = bot.fake.create_user("李雷", language_code="zh-cn")
    for text in ("/top ²", "/latest ①", "/top ３", "/latest ٣"):
        reply = await bot.command(ann, ann, text)
        assert "1 to 10" in (reply.text or ""), text
    for text in ("/article ⁵", "/share ²", "/article #①", "/share ５"):
        reply = await bot.command(ann, ann, text)
        assert "/article 42" in (reply.text or ""), text
    chinese = await bot.command(li, li, "/top ²")
    assert "1" in (chinese.text or "") and "10" in (chinese.text or "")
    assert re.search(r"[\u4e00-\u9fff]", chinese.text or "")
    assert "Something went wrong" not in (chinese.text or "")
