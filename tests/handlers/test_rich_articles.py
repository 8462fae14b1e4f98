"""/article as one rich message (sendRichMessage), and every way it falls back to pages."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.emulator import FakeTelegram
from storage.articles import article_id_for_external
from tests.factories import make_article
from tests.harness import Harness, running_bot

SEED_FILE = Path(__file__).resolve().parents[1] / "data" / "seed-article.json"
SEED = "seed-margin-financing-2026"


def _seed_id(engine: Engine) -> int:
    with Session(engine) as session:
        found = article_id_for_external(session=session, external_id=SEED)
    assert found is not None
    return found


def _rich_calls(fake: FakeTelegram) -> int:
    return sum(1 for r in fake.requests if r.method.lower() == "sendrichmessage")


async def test_seed_detail_is_one_rich_message_with_the_whole_analysis(bot: Harness) -> None:
    ann = bot.fake.create_user("Ann", language_code="en")
    seed = _seed_id(bot.deps.engine)
    reply = await bot.command(ann, ann, f"/article {seed}")
    assert reply.rich is not None and reply.rich_html is not None
    analysis = json.loads(SEED_FILE.read_text())["analysis"]["en"]
    paragraphs = [" ".join(p.split()) for p in analysis.split("\n") if p.strip()]
    assert len(paragraphs) > 5
    for paragraph in paragraphs:
        assert paragraph in (reply.text or "")
    kinds = [block["type"] for block in reply.rich["blocks"]]
    assert kinds[0] == "heading" and "table" in kinds and "details" in kinds
    table = next(b for b in reply.rich["blocks"] if b["type"] == "table")
    assert [c["text"] for c in table["cells"][0]] == ["🔥 Hot", "⭐ Quality", "💥 Impact"]
    details = next(b for b in reply.rich["blocks"] if b["type"] == "details")
    assert details["summary"] == "📝 Analysis" and not details.get("is_open")
    assert kinds[-1] == "footer" and "for reference only" in reply.rich["blocks"][-1]["text"]
    labels = [b["text"] for b in reply.buttons]
    assert labels == ["↗ Share", "🔗 Source"]
    assert len(bot.fake.bot_messages(ann)) == 1


async def test_seed_detail_in_chinese_is_rich_too(bot: Harness) -> None:
    li = bot.fake.create_user("李雷", language_code="zh-hans")
    reply = await bot.command(li, li, f"/article {_seed_id(bot.deps.engine)}")
    assert reply.rich is not None
    assert "两市融资余额减少76.61亿元" in (reply.text or "")
    assert "智能手机市场的警报" in (reply.text or "")


async def test_an_analysis_too_long_for_one_message_falls_back_to_pages(bot: Harness) -> None:
    # The longest article seen: a 31,000-character analysis under a full 1,500-character
    # summary. Its HTML source (what we measure, see docs/rich-messages.md) is over 32,768.
    sentence = "Compute budgets keep shifting between training and inference. "
    analysis = "\n\n".join(sentence * 8 for _ in range(62))[:31_000]
    summary = ("Labs trade training runs for serving capacity. " * 32)[:1_500]
    with Session(bot.deps.engine) as session:
        long_id = make_article(session, analysis={"en": analysis}, summary={"en": summary}).id
    ann = bot.fake.create_user("Ann", language_code="en")
    reply = await bot.command(ann, ann, f"/article {long_id}")
    assert reply.rich is None
    assert any(b["text"].startswith("1/") for b in reply.buttons)
    assert _rich_calls(bot.fake) == 0  # known not to fit: not even tried


async def test_a_server_without_rich_messages_gets_pages_and_no_error(
    settings: Settings, sample_engine: Engine
) -> None:
    fake = FakeTelegram(rich_messages=False)
    async with running_bot(settings, sample_engine, fake=fake) as bot:
        ann = bot.fake.create_user("Ann", language_code="en")
        seed = _seed_id(sample_engine)
        first = await bot.command(ann, ann, f"/article {seed}")
        second = await bot.command(ann, ann, f"/article {seed}")
        for reply in (first, second):
            assert reply.rich is None
            assert "Two Markets' Margin Financing" in (reply.text or "")
            assert "Silicon Valley's AI titans" in (reply.text or "")
            assert "error" not in (reply.text or "").lower()
        assert len(bot.fake.bot_messages(ann)) == 2
        assert _rich_calls(fake) == 1  # remembered for the process after the first 404
        assert not bot.deps.rich.enabled


async def test_rich_messages_off_by_setting_sends_pages(
    settings: Settings, sample_engine: Engine
) -> None:
    quiet = settings.model_copy(update={"rich_messages": False})
    async with running_bot(quiet, sample_engine) as bot:
        ann = bot.fake.create_user("Ann", language_code="en")
        reply = await bot.command(ann, ann, f"/article {_seed_id(sample_engine)}")
        assert reply.rich is None and "Silicon Valley's AI titans" in (reply.text or "")
        assert _rich_calls(bot.fake) == 0
