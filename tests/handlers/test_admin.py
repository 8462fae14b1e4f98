"""/stats for the operators in DIGESTBOT_ADMIN_IDS, refused to everyone else."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.config import Settings
from tests.harness import running_bot

OPERATOR_ID = 4242


async def test_stats_for_operators_in_both_languages(
    settings: Settings, sample_engine: Engine
) -> None:
    settings = settings.model_copy(update={"admin_ids": [OPERATOR_ID]})
    async with running_bot(settings, sample_engine) as bot:
        op = bot.fake.create_user("Op", user_id=OPERATOR_ID, language_code="en")
        await bot.command(op, op, "/subscribe")
        report = await bot.command(op, op, "/stats")
        text = report.text or ""
        assert "Statistics" in text
        assert "Subscribed chats: 1" in text and "English · private chats: 1" in text
        assert "Articles: 25" in text
        zh_op = bot.fake.create_user("运营", user_id=OPERATOR_ID + 1, language_code="zh")
        settings.admin_ids.append(zh_op.id)
        zh = await bot.command(zh_op, zh_op, "/stats")
        assert "统计" in (zh.text or "") and "文章：25" in (zh.text or "")


async def test_stats_refused_to_others(settings: Settings, sample_engine: Engine) -> None:
    async with running_bot(settings, sample_engine) as bot:
        ann = bot.fake.create_user("Ann")
        reply = await bot.command(ann, ann, "/stats")
        assert "operators" in (reply.text or "")
        assert "Statistics" not in (reply.text or "")
