"""The issue's acceptance path: English-only feeds polled, the newsroom run by the real app
against the fake model server, and a Chinese reader's /top, digest and detail view."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings, load_settings
from bot.content.enrich.dedup import link_duplicates
from bot.content.enrich.jobs import newsroom_of
from bot.content.enrich.worker import Newsroom, PassReport
from bot.content.feeds import make_http_client, poll_feeds
from bot.delivery.planner import SERVICE_KEY, DeliveryService
from bot.emulator import FakeMessage, FakeTelegram, FakeUser
from tests.fake_llm import ZH_MARK, FakeLlm, FakeLlmServer
from tests.harness import SAMPLE_NOW, Clock, Harness, running_bot

GPU = "Nvidia unveils a new GPU for AI data centers"
PROBE = "EU regulators open an antitrust probe into AI partnerships"
FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>{source}</title>
    <link>https://{host}/</link>
    <item>
      <title>{gpu}</title>
      <link>https://{host}/gpu</link>
      <guid isPermaLink="true">https://{host}/gpu</guid>
      <pubDate>Wed, 25 Nov 2026 01:00:00 +0000</pubDate>
      <category>Chips</category>
      <description>The chip maker announced its next data-center GPU and software.</description>
    </item>
    <item>
      <title>{probe}</title>
      <link>https://{host}/eu-probe</link>
      <guid isPermaLink="true">https://{host}/eu-probe</guid>
      <pubDate>Wed, 25 Nov 2026 00:30:00 +0000</pubDate>
      <description>Brussels wants to know whether cloud deals lock in start-ups.</description>
    </item>
  </channel>
</rss>
"""


def _write_feeds(tmp_path: Path) -> list[Path]:
    paths = []
    for source, host in (("Example AI Wire", "wire.example.com"), ("Chip Daily", "chips.example")):
        path = tmp_path / f"{host}.xml"
        path.write_text(FEED.format(source=source, host=host, gpu=GPU, probe=PROBE), "utf-8")
        paths.append(path)
    return paths


@pytest.fixture
async def fake_llm() -> AsyncIterator[tuple[FakeLlm, FakeLlmServer]]:
    fake = FakeLlm()
    async with FakeLlmServer(fake) as server:
        yield fake, server


@pytest.fixture
def newsroom_settings(
    settings: Settings, tmp_path: Path, fake_llm: tuple[FakeLlm, FakeLlmServer]
) -> Settings:
    fake, server = fake_llm
    return load_settings(
        DATABASE_URL=settings.database_url,
        DIGESTBOT_FEEDS=",".join(str(p) for p in _write_feeds(tmp_path)),
        DIGESTBOT_LLM_BASE_URL=server.base_url,
        DIGESTBOT_LLM_API_KEY=fake.api_key,
        DIGESTBOT_LLM_MODEL=fake.model,
        DIGESTBOT_LLM_TIMEOUT=5,
        # The app's own job must not start a pass of its own while the test drives one.
        DIGESTBOT_LLM_INTERVAL=3600,
    )


async def _poll_and_enrich(bot: Harness) -> PassReport:
    """What the feed job does every interval, then one newsroom pass."""
    settings, engine = bot.deps.settings, bot.deps.engine
    with make_http_client() as client:
        await asyncio.to_thread(poll_feeds, engine, settings, client=client, now=bot.clock.now)
    await asyncio.to_thread(link_duplicates, engine=engine, settings=settings, now=bot.clock.now)
    newsroom = newsroom_of(bot.app)
    assert isinstance(newsroom, Newsroom)
    return await newsroom.run_pass()


async def _digest(bot: Harness, reader: FakeUser) -> FakeMessage:
    """Subscribe for two minutes from now and let the real planner send the digest."""
    await bot.command(reader, reader, "/time 02:02")
    await bot.command(reader, reader, "/subscribe")
    bot.clock.now = SAMPLE_NOW + timedelta(minutes=2)
    service = bot.app.bot_data[SERVICE_KEY]
    assert isinstance(service, DeliveryService)
    await service.tick()
    return await bot.fake.next_bot_message(reader, timeout=10)


async def test_a_chinese_reader_gets_english_feeds_in_chinese_once_per_story(
    newsroom_settings: Settings, engine: Engine, fake_llm: tuple[FakeLlm, FakeLlmServer]
) -> None:
    fake, _server = fake_llm
    telegram = FakeTelegram()
    li = telegram.create_user("李雷", language_code="zh-hans")
    config = newsroom_settings.model_copy(update={"admin_ids": [li.id]})
    async with running_bot(config, engine, fake=telegram, clock=Clock()) as bot:
        report = await _poll_and_enrich(bot)
        # Four entries, two stories: the duplicates are never sent to the model.
        assert (report.enriched, report.failed) == (2, 0)
        assert len(fake.chat_requests) == 2

        top = await bot.command(li, li, "/top")
        text = top.text or ""
        assert ZH_MARK + GPU in text and ZH_MARK + PROBE in text
        assert text.count(GPU) == 1  # one story, one item
        assert "Chip Daily" in text  # "also covered by"
        assert "📖 3" not in {b["text"] for b in top.buttons}

        await bot.press(li, li, top, "📖 1")
        detail = await bot.fake.next_bot_message(li, timeout=10)
        body = detail.text or ""
        assert ZH_MARK in body and "深度分析 1" in body  # the generated analysis, in Chinese
        assert "机器翻译" in body  # the translated title and summary are labelled
        assert "AI" in body and "仅供参考" in body  # the AI disclaimer of the analysis

        digest = await _digest(bot, li)
        digest_text = digest.text or ""
        assert digest_text.startswith("📰")
        assert ZH_MARK + GPU in digest_text and digest_text.count(GPU) == 1

        # The next poll of the unchanged feeds asks the model nothing.
        for path in newsroom_settings.feeds:
            os.utime(path)  # a new mtime: the files are read and imported again
        again = await _poll_and_enrich(bot)
        assert again.requests == 0 and len(fake.chat_requests) == 2

        stats = await bot.command(li, li, "/stats")
        assert "AI 编辑部：已完善 2 · 待处理 0 · 失败 0" in (stats.text or "")
        assert "今日模型用量：2,000 / 2,000,000 个 token" in (stats.text or "")


async def test_a_failing_model_leaves_delivery_untouched(
    newsroom_settings: Settings, engine: Engine, fake_llm: tuple[FakeLlm, FakeLlmServer]
) -> None:
    fake, _server = fake_llm
    fake.fail_next("500", times=20)
    telegram = FakeTelegram()
    li = telegram.create_user("李雷", language_code="zh-hans")
    async with running_bot(newsroom_settings, engine, fake=telegram, clock=Clock()) as bot:
        report = await _poll_and_enrich(bot)
        assert report.enriched == 0 and report.retry_later == 2
        digest = await _digest(bot, li)
        text = digest.text or ""
        # Not enriched yet: delivered as it is, in English, on time.
        assert text.startswith("📰") and GPU in text and ZH_MARK not in text
