"""/tags with follow buttons, /tag by slug or localized name."""

from __future__ import annotations

from sqlmodel import Session

from storage.chats import followed_tag_ids
from tests.harness import Harness


async def test_tags_list_counts_and_follow_toggles(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    listing = await bot.command(ann, ann, "/tags")
    text = listing.text or ""
    assert "Finance AI" in text and "6 articles" in text
    follow_buttons = [b["text"] for b in listing.buttons if "Follow" in b["text"]]
    assert len(follow_buttons) == 8
    await bot.press(ann, ann, listing, "➕ Follow")
    edited = bot.fake.get_message(ann, listing.message_id)
    assert "✅ Following" in [b["text"] for b in edited.buttons]
    with Session(bot.deps.engine) as session:
        assert len(followed_tag_ids(session=session, chat_id=ann.id)) == 1
    # Following narrows the digest to that tag.
    preview = await bot.command(ann, ann, "/digest")
    assert "digest" in (preview.text or "").lower()


async def test_tag_by_slug_and_by_chinese_name(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    by_slug = await bot.command(ann, ann, "/tag finance-ai")
    assert "Finance AI" in (by_slug.text or "") and "last 7 days" in (by_slug.text or "")
    assert any(b["text"].startswith("📖 ") for b in by_slug.buttons)
    li = bot.fake.create_user("李雷", language_code="zh")
    by_name = await bot.command(li, li, "/tag 金融AI")
    assert "金融AI" in (by_name.text or "")
    missing = await bot.command(ann, ann, "/tag quantum-cats")
    assert "quantum-cats" in (missing.text or "") and "/tags" in (missing.text or "")
    usage = await bot.command(ann, ann, "/tag")
    assert "/tag research" in (usage.text or "")


async def test_tag_button_opens_its_articles(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann")
    listing = await bot.command(ann, ann, "/tags")
    await bot.press(ann, ann, listing, "Robotics")
    articles = await bot.fake.next_bot_message(ann)
    assert "Robotics" in (articles.text or "")
