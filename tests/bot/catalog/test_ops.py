"""Operations reports and the application wiring (install_jobs, restart) of digest delivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from telegram.ext import Application, ApplicationBuilder

from bot.catalog.ops import dry_run, stats_report, status
from bot.config import Settings
from bot.context import Deps
from bot.delivery.broadcaster import Broadcaster
from bot.delivery.planner import SERVICE_KEY, DeliveryService, install_jobs, stop_delivery
from bot.delivery.ratelimit import RateLimits, TelegramRateLimiter
from bot.digest_time import next_occurrence
from bot.emulator import FakeTelegram, FakeTelegramServer
from bot.views.reports import format_dry_run, format_status
from bot.views.stats import render_stats
from storage import instances
from storage.models import Chat, ChatTag, Delivery, Tag
from tests.bot.delivery.test_delivery import FAST, add_db_chat, make_bot, plan, users
from tests.factories import make_article

pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(FakeTelegram()) as srv:
        yield srv


async def test_status_and_stats_show_the_run(
    server: FakeTelegramServer, engine: Engine, settings: Settings
) -> None:
    with Session(engine) as session:
        make_article(session)
    fake = server.fake
    _ok, blocked = users(fake, engine, 2)
    await fake.block_bot(blocked)
    plan(engine)
    bot = await make_bot(server)
    try:
        await Broadcaster(bot=bot, engine=engine, settings=settings, options=FAST).run_pass()
    finally:
        await bot.shutdown()
    report = status(engine=engine)
    [run] = report.runs
    assert (run.planned, run.sent, run.failed, run.unknown, run.pending) == (2, 1, 1, 0, 0)
    assert run.finished_at is not None
    assert report.inactive == 1 and report.subscribers == 1
    # Planner lag: the sent digest's send time minus its due time.
    with Session(engine) as session:
        [sent] = session.scalars(select(Delivery).where(Delivery.state == "sent")).all()
        assert sent.sent_at is not None
        lag = (sent.sent_at - sent.due_at).total_seconds()
    assert run.lag_first_s == pytest.approx(lag, abs=0.01)
    assert run.lag_max_s == pytest.approx(lag, abs=0.01)
    text = format_status(report)
    assert "planned" in text and "msg/s" in text and "lag first" in text
    stats = stats_report(Deps(engine=engine, settings=settings))
    html, _ = render_stats(stats.status, stats.subscribers, stats.articles, "en")
    assert "planned 2" in html and "sent 1" in html and "failed 1" in html


def test_status_lists_live_instances_and_rows_by_owner(engine: Engine) -> None:
    now = datetime(2026, 11, 26, 8, 0, 10, tzinfo=UTC)
    add_db_chat(engine, 1)
    add_db_chat(engine, 2)
    with Session(engine) as session:
        for name, beat, roles in (
            ("web-1-aa", now - timedelta(seconds=1), ("poller", "sender")),
            ("web-2-bb", now - timedelta(seconds=2), ()),
            ("web-3-cc", now - timedelta(minutes=5), ()),  # crashed: silent
        ):
            instances.register(
                session=session, instance_id=name, host="web", pid=7, mode="polling", now=beat
            )
            instances.heartbeat(session=session, instance_id=name, roles=roles, now=beat)
        session.add(
            Delivery(
                chat_id=1, local_date="2026-11-26", due_at=now, state="sending", owner="web-1-aa"
            )
        )
        session.add(Delivery(chat_id=2, local_date="2026-11-26", due_at=now, state="pending"))
        session.commit()
    report = status(engine=engine, now=now, heartbeat_interval=2.0)
    assert [i.id for i in report.live] == ["web-2-bb", "web-1-aa"]  # oldest first
    assert [i.id for i in report.silent] == ["web-3-cc"]
    assert report.owners == [("pending", None, 1), ("sending", "web-1-aa", 1)]
    text = format_status(report)
    assert "instances: 2 live" in text
    assert "web-1-aa  host web  pid 7  polling  role poller/sender  heartbeat 1.0s ago" in text
    assert "web-2-bb  host web  pid 7  polling  role standby  heartbeat 2.0s ago" in text
    assert "web-3-cc  host web  silent since 2026-11-26 07:55:10" in text
    assert "sending  web-1-aa  1" in text and "pending  (unclaimed)  1" in text


def test_dry_run_lists_each_kind_of_chat(engine: Engine, settings: Settings) -> None:
    with Session(engine) as session:
        make_article(session, hot=99, tags=["research"])
        make_article(session, hot=10, tags=["model-release"])
        research = session.scalars(select(Tag).where(Tag.slug == "research")).one()
    for chat_id in (1, 2):
        add_db_chat(engine, chat_id)
    add_db_chat(engine, 3, language="zh", article_count=1)
    add_db_chat(engine, 4)
    with Session(engine) as session:
        session.add(ChatTag(chat_id=4, tag_id=research.id))
        session.commit()
    kinds = dry_run(engine=engine, settings=settings)
    summary = {(k.language, k.tags, k.count): (k.chats, len(k.articles)) for k in kinds}
    assert summary == {
        ("en", (), 5): (2, 2),
        ("zh", (), 1): (1, 1),
        ("en", ("research",), 5): (1, 1),
    }
    text = format_dry_run(kinds)
    assert "[en · all tags · 5 articles] 2 chat(s)" in text
    assert "文章" in text  # titles in the chat's language


def _app(server: FakeTelegramServer) -> Application:  # type: ignore[type-arg]
    return (
        ApplicationBuilder()
        .token(server.fake.token)
        .base_url(server.base_url)
        .rate_limiter(TelegramRateLimiter(RateLimits(time_scale=100.0)))
        .build()
    )


async def _run_app_until(
    server: FakeTelegramServer, engine: Engine, settings: Settings, done: Callable[[], object]
) -> DeliveryService:
    app = _app(server)
    service = install_jobs(app, engine=engine, settings=settings)
    async with app:
        await app.start()
        try:
            await asyncio.wait_for(service.ticked.wait(), timeout=10)  # the start-up pass
            await server.fake.wait_for(done, timeout=10)
        finally:
            await stop_delivery(app)
            await app.stop()
    assert app.bot_data[SERVICE_KEY] is service
    return service


async def test_shanghai_chat_gets_exactly_one_digest_across_a_restart(
    server: FakeTelegramServer, engine: Engine, settings: Settings
) -> None:
    with Session(engine) as session:
        make_article(session)
    fake = server.fake
    user = fake.create_user("li", language_code="zh")
    # As after "/timezone Asia/Shanghai" and "/time" a moment ahead: the planner job, first
    # run at start, finds it due.
    due = datetime.now(UTC) - timedelta(seconds=1)
    add_db_chat(engine, user.id, timezone="Asia/Shanghai", next_digest_at=due)

    await _run_app_until(server, engine, settings, lambda: len(fake.bot_messages(user.id)) >= 1)
    # Wait until the outcome is recorded, then restart the whole application.
    with Session(engine) as session:
        row = session.scalars(select(Delivery)).one()
    assert row.state == "sent"

    second = await _run_app_until(server, engine, settings, lambda: True)
    assert second.last_plan is not None and second.last_plan.planned == 0
    assert len(fake.bot_messages(user.id)) == 1
    with Session(engine) as session:
        chat = session.get(Chat, user.id)
        assert chat is not None and chat.next_digest_at is not None
        assert chat.next_digest_at == next_occurrence(
            "08:00", "Asia/Shanghai", datetime.now(UTC)
        ) or chat.next_digest_at > datetime.now(UTC)
        assert len(session.scalars(select(Delivery)).all()) == 1
