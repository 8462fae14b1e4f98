"""The Application that build_application makes: jobs on the JobQueue, feed polling wired in."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.app import build_application
from bot.config import Settings
from bot.delivery.planner import SERVICE_KEY
from storage.articles import count_articles

DATA = Path(__file__).resolve().parents[1] / "data"


def _jobs(settings: Settings, engine: Engine) -> dict[str, object]:
    app = build_application(settings, engine, token="123:TEST")
    assert app.job_queue is not None
    return {job.name: job for job in app.job_queue.jobs() if job.name}


def test_planner_runs_periodically_and_feeds_only_when_configured(
    settings: Settings, engine: Engine
) -> None:
    assert {"digest-planner", "digest-planner-start"} <= set(_jobs(settings, engine))
    assert "feed-poll" not in _jobs(settings, engine)
    with_feeds = settings.model_copy(update={"feeds": [str(DATA / "rss.xml")]})
    assert "feed-poll" in _jobs(with_feeds, engine)


async def test_feed_job_imports_the_configured_feeds(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    missing = str(tmp_path / "gone.xml")
    with_feeds = settings.model_copy(update={"feeds": [str(DATA / "rss.xml"), missing]})
    app = build_application(with_feeds, engine, token="123:TEST")
    assert app.job_queue is not None
    job = next(j for j in app.job_queue.jobs() if j.name == "feed-poll")
    await job.callback(None)  # type: ignore[arg-type]
    with Session(engine) as session:
        assert count_articles(session=session) > 0
    # Each poll is counted by its result: one fetched, one failed (the file is gone).
    registry = app.bot_data["deps"].metrics.registry
    polls = "digestbot_feed_polls_total"
    assert registry.get_sample_value(polls, {"result": "fetched"}) == 1
    assert registry.get_sample_value(polls, {"result": "failed"}) == 1


async def test_only_the_leader_polls_feeds(settings: Settings, engine: Engine) -> None:
    with_feeds = settings.model_copy(update={"feeds": [str(DATA / "rss.xml")]})
    app = build_application(with_feeds, engine, token="123:TEST")
    assert app.job_queue is not None
    job = next(j for j in app.job_queue.jobs() if j.name == "feed-poll")
    app.bot_data[SERVICE_KEY].sending = False  # a standby: the leader polls
    await job.callback(None)  # type: ignore[arg-type]
    with Session(engine) as session:
        assert count_articles(session=session) == 0
    app.bot_data[SERVICE_KEY].sending = True
    await job.callback(None)  # type: ignore[arg-type]
    with Session(engine) as session:
        assert count_articles(session=session) > 0


def test_telegram_is_retried_with_a_capped_doubling_delay() -> None:
    from bot.runner import RETRY_CAP, retry_delay

    assert [retry_delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert retry_delay(10_000) == RETRY_CAP  # no overflow after days of retrying


def test_the_bot_runs_on_uvloop_where_it_is_installed() -> None:
    import asyncio

    import uvloop

    from bot.runner import run_loop

    async def loop_type() -> type:
        return type(asyncio.get_running_loop())

    assert run_loop(loop_type()) is uvloop.Loop
