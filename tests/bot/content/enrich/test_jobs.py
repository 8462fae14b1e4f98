"""The newsroom in the Application: its job only when configured, woken after a feed poll."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.app import build_application
from bot.config import Settings
from bot.content.enrich.jobs import newsroom_of
from storage.models import Article
from tests.bot.content.enrich.conftest import NOW, english_feed, llm_settings
from tests.fake_llm import FakeLlm, FakeLlmServer


def _job_names(settings: Settings, engine: Engine) -> set[str]:
    app = build_application(settings, engine, token="123:TEST")
    assert app.job_queue is not None
    return {job.name for job in app.job_queue.jobs() if job.name}


async def test_the_newsroom_job_exists_only_when_configured(
    settings: Settings, engine: Engine, fake_llm: FakeLlm, llm_server: FakeLlmServer
) -> None:
    assert "newsroom" not in _job_names(settings, engine)
    assert "newsroom" in _job_names(llm_settings(settings, llm_server, fake_llm), engine)


async def test_a_feed_poll_links_duplicates_and_wakes_the_newsroom(
    settings: Settings,
    engine: Engine,
    tmp_path: Path,
    fake_llm: FakeLlm,
    llm_server: FakeLlmServer,
) -> None:
    feeds = []
    for source, host in (("Wire", "wire.example.com"), ("Chip Daily", "chips.example")):
        path = tmp_path / f"{host}.xml"
        path.write_text(english_feed(source=source, host=host), encoding="utf-8")
        feeds.append(str(path))
    config = llm_settings(settings, llm_server, fake_llm, DIGESTBOT_FEEDS=",".join(feeds))
    app = build_application(config, engine, token="123:TEST", clock=lambda: NOW)
    assert app.job_queue is not None and newsroom_of(app) is not None
    feed_job = next(j for j in app.job_queue.jobs() if j.name == "feed-poll")
    await feed_job.callback(None)  # type: ignore[arg-type]
    with Session(engine) as session:
        dups = session.exec(select(Article.source).where(Article.duplicate_of.is_not(None)))  # type: ignore[union-attr]
        assert sorted(dups) == ["Chip Daily", "Chip Daily"]
    assert "newsroom-after-poll" in {j.name for j in app.job_queue.jobs()}
    newsroom = newsroom_of(app)
    assert newsroom is not None
    await newsroom.close()
