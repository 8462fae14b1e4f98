from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.config import Settings, load_settings
from bot.content.formats import read_stream
from bot.content.importer import ImportCounts, import_records
from tests.fake_llm import FakeLlm, FakeLlmServer

# The feed's first entry was published at 01:00 UTC; the clock stands two hours later.
NOW = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)

ENGLISH_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel>
    <title>{source}</title>
    <link>https://{host}/</link>
    <item>
      <title>{title}</title>
      <link>https://{host}/2026/06/gpu</link>
      <guid isPermaLink="true">https://{host}/2026/06/gpu</guid>
      <pubDate>Mon, 15 Jun 2026 09:00:00 +0800</pubDate>
      <category>Chips</category>
      <description>The chip maker announced its next data-center GPU and software.</description>
      <content:encoded><![CDATA[<p>The chip maker announced its next data-center GPU.</p>
<p>Analysts expect shipments in the fourth quarter, cloud providers first.</p>
]]></content:encoded>
    </item>
    <item>
      <title>EU regulators open an antitrust probe into AI partnerships</title>
      <link>https://{host}/2026/06/eu-probe</link>
      <guid isPermaLink="true">https://{host}/2026/06/eu-probe</guid>
      <pubDate>Mon, 15 Jun 2026 08:00:00 +0800</pubDate>
      <description>Brussels wants to know whether cloud deals lock in start-ups.</description>
    </item>
  </channel>
</rss>
"""


def english_feed(
    *,
    source: str = "Example AI Wire",
    host: str = "wire.example.com",
    title: str = "Nvidia unveils a new GPU for AI data centers",
) -> str:
    return ENGLISH_FEED.format(source=source, host=host, title=title)


def import_text(engine: Engine, text: str, now: datetime = NOW) -> ImportCounts:
    counts = ImportCounts()
    errors = io.StringIO()
    records = read_stream(io.BytesIO(text.encode("utf-8")), "feed.xml", now=now)
    import_records(engine, records, now=now, err=errors, counts=counts)
    assert counts.rejected == 0, errors.getvalue()
    return counts


@pytest.fixture
def fake_llm() -> FakeLlm:
    return FakeLlm()


@pytest.fixture
async def llm_server(fake_llm: FakeLlm) -> AsyncIterator[FakeLlmServer]:
    async with FakeLlmServer(fake_llm) as server:
        yield server


def llm_settings(
    settings: Settings, server: FakeLlmServer, fake: FakeLlm, **extra: object
) -> Settings:
    """``settings`` with the newsroom pointed at the fake server."""
    values: dict[str, object] = {
        "DATABASE_URL": settings.database_url,
        "DIGESTBOT_LLM_BASE_URL": server.base_url,
        "DIGESTBOT_LLM_API_KEY": fake.api_key,
        "DIGESTBOT_LLM_MODEL": fake.model,
        "DIGESTBOT_LLM_TIMEOUT": 5,
    }
    values.update(extra)
    return load_settings(**values)


@pytest.fixture
def feed_path(tmp_path: Path) -> Path:
    path = tmp_path / "wire.xml"
    path.write_text(english_feed(), encoding="utf-8")
    return path
