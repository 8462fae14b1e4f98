"""The fan-out sender against the fake Bot API server over loopback, with a real PTB ExtBot."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.delivery.broadcaster import Broadcaster
from bot.delivery.options import DeliveryOptions
from bot.delivery.planner import plan_once
from bot.delivery.ratelimit import RateLimits, TelegramRateLimiter
from bot.emulator import FakeTelegram, FakeTelegramServer
from storage.models import Chat, DeliveredArticle, Delivery
from tests.factories import make_article

# PTB's own RetryAfter constructor warns about its int/timedelta transition.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)

GRACE = timedelta(hours=6)
# The fake runs in the test's own event loop, so its arrival times carry this loop's
# scheduling jitter (SQLite commits, rendering); 10% slack on every window absorbs it.
SAFETY = 0.1
FAST = DeliveryOptions(backoff_base=0.01, backoff_max=0.05, flush_interval=0.05)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(FakeTelegram()) as srv:
        yield srv


@pytest.fixture
def articles(engine: Engine) -> Iterator[list[int]]:
    with Session(engine) as session:
        ids = [make_article(session, hot=90 - i).id for i in range(3)]
    yield [i for i in ids if i is not None]


async def make_bot(
    server: FakeTelegramServer, limits: RateLimits | None = None, *, read_timeout: float = 3.0
) -> ExtBot[Any]:
    request = HTTPXRequest(
        connection_pool_size=64, read_timeout=read_timeout, connect_timeout=2.0, pool_timeout=2.0
    )
    bot: ExtBot[Any] = ExtBot(
        token=server.fake.token,
        base_url=server.base_url,
        request=request,
        rate_limiter=TelegramRateLimiter(limits or RateLimits(time_scale=100.0)),
    )
    await bot.initialize()
    return bot


def add_db_chat(engine: Engine, chat_id: int, *, kind: str = "private", **extra: Any) -> None:
    with Session(engine) as session:
        values: dict[str, Any] = {
            "id": chat_id,
            "type": kind,
            "timezone": "Europe/Berlin",
            "digest_time": "08:00",
            "subscribed": True,
            "next_digest_at": datetime.now(UTC) - timedelta(minutes=1),
            **extra,
        }
        session.add(Chat(**values))
        session.commit()


def users(fake: FakeTelegram, engine: Engine, n: int, **extra: Any) -> list[int]:
    ids = []
    for i in range(n):
        user = fake.create_user(f"user{i}")
        add_db_chat(engine, user.id, **extra)
        ids.append(user.id)
    return ids


def plan(engine: Engine) -> int:
    return plan_once(engine=engine, now=datetime.now(UTC), grace=GRACE).planned


def rows(engine: Engine) -> dict[int, Delivery]:
    with Session(engine) as session:
        return {d.chat_id: d for d in session.scalars(select(Delivery))}


def sent_counts(fake: FakeTelegram, chat_ids: list[int]) -> Counter[int]:
    return Counter({c: len(fake.bot_messages(c)) for c in chat_ids})


async def test_broadcast_sends_each_chat_one_digest_rendered_once_per_language(
    server: FakeTelegramServer, engine: Engine, settings: Settings, articles: list[int]
) -> None:
    fake = server.fake
    english = users(fake, engine, 20)
    chinese = users(fake, engine, 10, language="zh")
    assert plan(engine) == 30
    bot = await make_bot(server)
    try:
        broadcaster = Broadcaster(bot=bot, engine=engine, settings=settings, options=FAST)
        stats = await broadcaster.run_pass()
    finally:
        await bot.shutdown()

    assert stats.sent == 30
    assert sent_counts(fake, english + chinese) == Counter({c: 1 for c in english + chinese})
    assert broadcaster.builder.renders == 2  # one per language, not one per chat
    message = fake.bot_messages(english[0])[0]
    assert "Article" in message.text and message.reply_markup is not None
    assert "文章" in fake.bot_messages(chinese[0])[0].text
    by_chat = rows(engine)
    assert {d.state for d in by_chat.values()} == {"sent"}
    assert by_chat[english[0]].message_ids == [message.message_id]
    assert by_chat[english[0]].article_ids == articles
    with Session(engine) as session:
        delivered = session.scalars(select(DeliveredArticle)).all()
    assert len(delivered) == 30 * 3


async def test_no_new_articles_means_no_message_and_a_recorded_skip(
    server: FakeTelegramServer, engine: Engine, settings: Settings
) -> None:
    [chat_id] = users(server.fake, engine, 1)
    plan(engine)
    bot = await make_bot(server)
    try:
        await Broadcaster(bot=bot, engine=engine, settings=settings, options=FAST).run_pass()
    finally:
        await bot.shutdown()
    assert server.fake.bot_messages(chat_id) == []
    row = rows(engine)[chat_id]
    assert (row.state, row.reason) == ("skipped", "no new articles")


async def test_blocked_kicked_and_unknown_chats_are_deactivated(
    server: FakeTelegramServer, engine: Engine, settings: Settings, articles: list[int]
) -> None:
    fake = server.fake
    ok, blocked = users(fake, engine, 2)
    await fake.block_bot(blocked)
    admin = fake.create_user("admin")
    group = fake.create_group("g", creator=admin)
    await fake.remove_bot_from_group(group, admin)
    add_db_chat(engine, group.id, kind="group")
    add_db_chat(engine, 987654321)  # never existed on Telegram's side: "chat not found"
    plan(engine)
    bot = await make_bot(server)
    try:
        await Broadcaster(bot=bot, engine=engine, settings=settings, options=FAST).run_pass()
    finally:
        await bot.shutdown()
    by_chat = rows(engine)
    assert by_chat[ok].state == "sent"
    for dead in (blocked, group.id, 987654321):
        assert by_chat[dead].state == "failed"
        with Session(engine) as session:
            chat = session.get(Chat, dead)
            assert chat is not None and chat.active is False
    assert "blocked" in (by_chat[blocked].reason or "")
    assert "chat not found" in (by_chat[987654321].reason or "").lower()
    # Deactivated chats are not planned again.
    with Session(engine) as session:
        for chat_id in (blocked, group.id):
            chat = session.get(Chat, chat_id)
            assert chat is not None
            chat.next_digest_at = datetime.now(UTC) - timedelta(seconds=1)
            session.add(chat)
        session.commit()
    assert plan(engine) == 0


async def test_migrated_group_gets_the_digest_at_its_new_id(
    server: FakeTelegramServer, engine: Engine, settings: Settings, articles: list[int]
) -> None:
    fake = server.fake
    admin = fake.create_user("admin")
    group = fake.create_group("g", creator=admin)
    add_db_chat(engine, group.id, kind="group")
    new_id = await fake.migrate_group(group)
    plan(engine)
    bot = await make_bot(server)
    try:
        await Broadcaster(bot=bot, engine=engine, settings=settings, options=FAST).run_pass()
    finally:
        await bot.shutdown()
    assert fake.bot_messages(new_id)[0].text.startswith("📰")
    assert len(fake.bot_messages(new_id)) == 1
    by_chat = rows(engine)
    assert group.id not in by_chat
    assert by_chat[new_id].state == "sent"
    with Session(engine) as session:
        assert session.get(Chat, group.id) is None
        moved = session.get(Chat, new_id)
        assert moved is not None and moved.subscribed and moved.type == "supergroup"


async def test_ten_percent_injected_429s_all_delivered_no_request_during_penalty(
    server: FakeTelegramServer, engine: Engine, settings: Settings, articles: list[int]
) -> None:
    fake = server.fake
    fake.flood.configure(enabled=True, time_scale=10.0)
    fake.faults.configure(
        seed=7,
        retry_after_probability=0.1,
        retry_after_seconds=1,
        methods=frozenset({"sendMessage"}),
    )
    chats = users(fake, engine, 30)
    plan(engine)
    bot = await make_bot(server, RateLimits(time_scale=10.0, safety=SAFETY))
    try:
        stats = await Broadcaster(
            bot=bot, engine=engine, settings=settings, options=FAST
        ).run_pass()
    finally:
        await bot.shutdown()
    injected = [e for e in fake.faults.events if e.kind == "retry_after"]
    assert injected, "the seed must inject some 429s"
    assert fake.flood.penalty_violations == []
    assert [e for e in fake.flood.rejections if e.scope != "injected"] == []
    assert stats.sent == 30
    assert sent_counts(fake, chats) == Counter({c: 1 for c in chats})


async def test_flood_limits_are_never_hit(
    server: FakeTelegramServer, engine: Engine, settings: Settings, articles: list[int]
) -> None:
    fake = server.fake
    # 30/s overall and 20/min per group, sped up 20x: 600/s and 20 per 3 s per group.
    fake.flood.configure(enabled=True, time_scale=20.0)
    chats = users(fake, engine, 150)
    admin = fake.create_user("admin")
    groups = [fake.create_group(f"g{i}", creator=admin).id for i in range(5)]
    for g in groups:
        add_db_chat(engine, g, kind="group")
    plan(engine)
    bot = await make_bot(server, RateLimits(time_scale=20.0, safety=SAFETY))
    try:
        # Interactive traffic to one group while the broadcast runs: 25 replies must respect
        # that group's 20-per-minute (scaled) window too.
        broadcaster = Broadcaster(bot=bot, engine=engine, settings=settings, options=FAST)
        replies = [bot.send_message(groups[0], f"reply {i}") for i in range(25)]
        stats, *_ = await asyncio.gather(broadcaster.run_pass(), *replies)
    finally:
        await bot.shutdown()
    assert fake.flood.rejections == []
    assert stats.sent == 155
    assert sent_counts(fake, chats) == Counter({c: 1 for c in chats})
    assert len(fake.bot_messages(groups[0])) == 26


def _requests_to(fake: FakeTelegram, chat_id: int) -> int:
    return sum(1 for r in fake.requests_for("sendMessage") if int(r.params["chat_id"]) == chat_id)


async def test_read_timeout_after_sending_is_unknown_and_never_retried(
    server: FakeTelegramServer, engine: Engine, settings: Settings, articles: list[int]
) -> None:
    fake = server.fake
    hung, twice, dropped, fine = users(fake, engine, 4)
    lose = {hung: ["hang"], dropped: ["drop"], twice: ["drop", "drop"]}

    def after_apply(method: str, params: Any) -> Any:
        if method.lower() != "sendmessage":
            return None
        actions = lose.get(int(params["chat_id"]))
        return actions.pop(0) if actions else None

    fake.faults.after_apply_hook = after_apply
    plan(engine)
    bot = await make_bot(server, read_timeout=0.5)
    try:
        stats = await Broadcaster(
            bot=bot, engine=engine, settings=settings, options=FAST
        ).run_pass()
    finally:
        await bot.shutdown()
    by_chat = rows(engine)
    # A read timeout: the request was written and may have been applied; never retried.
    assert by_chat[hung].state == "unknown" and "timed out" in (by_chat[hung].reason or "")
    assert _requests_to(fake, hung) == 1 and len(fake.bot_messages(hung)) == 1
    # Closed before any byte of an answer: retried once. The emulator had applied the first
    # request, so this chat has the documented rare duplicate rather than a lost digest.
    assert by_chat[dropped].state == "sent"
    assert _requests_to(fake, dropped) == 2 and len(fake.bot_messages(dropped)) == 2
    # Closed early twice: one retry only, then unknown.
    assert by_chat[twice].state == "unknown" and "connection" in (by_chat[twice].reason or "")
    assert _requests_to(fake, twice) == 2
    assert by_chat[fine].state == "sent"
    assert (stats.unknown, stats.sent) == (2, 2)


async def test_server_errors_before_sending_are_retried_with_backoff(
    server: FakeTelegramServer, engine: Engine, settings: Settings, articles: list[int]
) -> None:
    fake = server.fake
    [chat_id] = users(fake, engine, 1)
    fake.faults.fail_next("sendMessage", status=500, count=2)
    fake.faults.fail_next("sendMessage", status=502, count=1)
    plan(engine)
    bot = await make_bot(server)
    try:
        stats = await Broadcaster(
            bot=bot, engine=engine, settings=settings, options=FAST
        ).run_pass()
    finally:
        await bot.shutdown()
    assert stats.sent == 1
    assert len(fake.requests_for("sendMessage")) == 4
    assert len(fake.bot_messages(chat_id)) == 1


async def test_connection_refused_is_retried_then_left_pending(
    engine: Engine, settings: Settings, articles: list[int]
) -> None:
    # A server that is not there: nothing was sent, so retrying is safe; after the retries
    # the row stays pending for the next pass instead of failing.
    fake = FakeTelegram()
    async with FakeTelegramServer(fake) as srv:
        [chat_id] = users(fake, engine, 1)
        bot = await make_bot(srv)
    plan(engine)
    try:
        options = DeliveryOptions(backoff_base=0.01, max_network_retries=2, flush_interval=0.05)
        stats = await Broadcaster(
            bot=bot, engine=engine, settings=settings, options=options
        ).run_pass()
    finally:
        await bot.shutdown()
    assert stats.returned >= 1
    assert rows(engine)[chat_id].state == "pending"


async def test_stop_mid_broadcast_then_restart_delivers_exactly_once(
    server: FakeTelegramServer, engine: Engine, settings: Settings, articles: list[int]
) -> None:
    fake = server.fake
    fake.flood.configure(enabled=True, time_scale=2.0)
    chats = users(fake, engine, 120)  # ~2 s at 60 msg/s
    plan(engine)
    bot = await make_bot(server, RateLimits(time_scale=2.0, safety=SAFETY))
    try:
        broadcaster = Broadcaster(bot=bot, engine=engine, settings=settings, options=FAST)
        run = asyncio.create_task(broadcaster.run_pass())
        await fake.wait_for(lambda: len(fake.requests_for("sendMessage")) >= 25, timeout=10)
        loop = asyncio.get_running_loop()
        stopped_at = loop.time()
        broadcaster.request_stop()  # what SIGTERM does through post_stop
        first = await run
        assert loop.time() - stopped_at < 5.0
        assert 25 <= first.sent < 120
        states = Counter(d.state for d in rows(engine).values())
        assert states["sending"] == 0
        assert states["sent"] == first.sent
        assert states["pending"] == 120 - first.sent

        # "Restart": a new broadcaster, as after a process restart.
        again = Broadcaster(bot=bot, engine=engine, settings=settings, options=FAST)
        assert again.recover() == 0
        second = await again.run_pass()
    finally:
        await bot.shutdown()
    assert first.sent + second.sent == 120
    assert sent_counts(fake, chats) == Counter({c: 1 for c in chats})
    assert fake.flood.rejections == []
