"""Several ``digestbot run`` processes on one PostgreSQL database, as an operator runs them.

Real processes, the emulator (flood limits on) over loopback, and a PostgreSQL database of the
test run's own. Each test counts per chat what reached the emulator: exactly one digest, none
lost, duplicates bounded by the requests on the wire at a kill, no 429 and no request during a
flood wait.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.emulator import FakeTelegram, FakeTelegramServer
from tests.bot.delivery.instances_harness import (
    Instance,
    add_subscribers,
    no_traceback,
    owned,
    received,
    registered,
    start_instance,
    states,
    stop_all,
    until,
    wait_leader,
    wait_registered,
)
from tests.factories import make_article

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
    ),
]

SCALE = 2.0  # 60 msg/s: a 600-chat broadcast takes about ten seconds
CHATS = 600


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(FakeTelegram()) as srv:
        srv.fake.flood.configure(enabled=True, time_scale=SCALE)
        yield srv


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _articles(engine: Engine) -> None:
    with Session(engine) as session:
        for i in range(3):
            make_article(session, hot=90 - i)


def _sent(fake: FakeTelegram) -> int:
    return len(fake.requests_for("sendMessage"))


def _no_floods(fake: FakeTelegram) -> None:
    assert fake.flood.rejections == []  # no 429 at all
    assert fake.flood.penalty_violations == []  # and so no request during a flood wait


@pytest.mark.postgres
async def test_rolling_restart_mid_broadcast_delivers_exactly_once(
    server: FakeTelegramServer, postgres_engine: Engine, tmp_path: Path
) -> None:
    fake, engine = server.fake, postgres_engine
    _articles(engine)
    chats = add_subscribers(fake, engine, CHATS)
    start = {
        "server": server,
        "database_url": _url(engine),
        "tmp_path": tmp_path,
        "scale": SCALE,
        # Leases outlast the pause below: the second instance's start-up recovery must leave
        # the first one's live rows alone, not find them expired.
        "extra": {"DIGESTBOT_LEASE_SECONDS": "120"},
    }
    first = await start_instance("first", **start)  # type: ignore[arg-type]
    second: Instance | None = None
    try:
        await fake.wait_for(lambda: _sent(fake) >= 100, timeout=60)
        # Starting a process takes from two to thirty seconds on this shared machine, longer
        # than the broadcast; the first instance is frozen (SIGSTOP) meanwhile so the second
        # surely starts mid-broadcast, with the first one's rows leased and on the wire.
        first.proc.send_signal(signal.SIGSTOP)
        await asyncio.sleep(0.3)
        held = owned(engine)
        second = await start_instance("second", **start)  # type: ignore[arg-type]
        await wait_registered(fake, engine, second)
        await asyncio.sleep(2.0)  # its first planner tick (with lease recovery) has run
        assert owned(engine) == held and held, "a live instance's rows were touched"
        assert states(engine)["unknown"] == 0
        first.proc.send_signal(signal.SIGCONT)
        assert await wait_leader(fake, engine, first, second) is first
        resumed_at = _sent(fake)
        await fake.wait_for(lambda: _sent(fake) >= resumed_at + 30, timeout=60)
        assert _sent(fake) < CHATS - 30, "the handover must happen mid-broadcast"
        # The old version is stopped the way a deploy stops it.
        assert await first.signal(signal.SIGTERM) == 0
        handed_over_at = _sent(fake)
        assert await wait_leader(fake, engine, second) is second
        await until(lambda: all(received(fake, chats).values()))
        await asyncio.sleep(0.5)  # anything extra would show up now
        assert states(engine)["sent"] == CHATS
    finally:
        if first.proc.returncode is None:
            first.proc.send_signal(signal.SIGCONT)
        await stop_all(*(i for i in (first, second) if i is not None))
    assert handed_over_at < CHATS
    assert received(fake, chats) == {c: 1 for c in chats}
    _no_floods(fake)
    no_traceback(first, second)


@pytest.mark.postgres
@pytest.mark.parametrize("policy", ["resend", "unknown"])
async def test_kill_9_of_the_sender_is_taken_over_without_a_restart(
    server: FakeTelegramServer, postgres_engine: Engine, tmp_path: Path, policy: str
) -> None:
    fake, engine = server.fake, postgres_engine
    _articles(engine)
    chats = add_subscribers(fake, engine, CHATS)
    start = {
        "server": server,
        "database_url": _url(engine),
        "tmp_path": tmp_path,
        "scale": SCALE,
        "extra": {"DIGESTBOT_SENDING_POLICY": policy},
    }
    a = await start_instance("a", **start)  # type: ignore[arg-type]
    b = await start_instance("b", **start)  # type: ignore[arg-type]
    try:
        await wait_registered(fake, engine, a)
        await wait_registered(fake, engine, b)
        await fake.wait_for(lambda: _sent(fake) >= 150, timeout=60)
        sender = await wait_leader(fake, engine, a, b)
        survivor = b if sender is a else a
        assert await sender.signal(signal.SIGKILL) == -signal.SIGKILL
        await asyncio.sleep(0.3)  # a commit the killed process sent may still be applied
        at_kill = states(engine)
        on_the_wire = at_kill["sending"]
        assert at_kill["pending"] > 0, "the kill must land mid-broadcast"
        assert await wait_leader(fake, engine, survivor) is survivor
        # The survivor finishes the run; the dead sender's rows come back once their lease
        # (3 s here) has expired.
        await until(lambda: states(engine)["pending"] + states(engine)["sending"] == 0)
        await asyncio.sleep(0.5)
    finally:
        await stop_all(a, b)
    counts = received(fake, chats)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    lost = [c for c, n in counts.items() if n == 0]
    final = states(engine)
    if policy == "resend":
        assert lost == []
        assert duplicates <= on_the_wire
        assert final["sent"] == CHATS
    else:
        assert duplicates == 0
        assert len(lost) <= on_the_wire
        assert final["sent"] + final["unknown"] == CHATS
        assert final["unknown"] == on_the_wire
    _no_floods(fake)
    no_traceback(a, b)


async def _start_and_wait(fake: FakeTelegram, users: list[int]) -> None:
    for user in users:
        await fake.start_bot(user)
    for user in users:
        await fake.wait_for(1, chat=user, timeout=30)


@pytest.mark.postgres
async def test_two_pollers_configured_one_polls_and_the_other_takes_over(
    server: FakeTelegramServer, postgres_engine: Engine, tmp_path: Path
) -> None:
    fake, engine = server.fake, postgres_engine
    start = {"server": server, "database_url": _url(engine), "tmp_path": tmp_path, "scale": SCALE}
    a = await start_instance("a", **start)  # type: ignore[arg-type]
    b = await start_instance("b", **start)  # type: ignore[arg-type]
    try:
        await wait_registered(fake, engine, a)
        await wait_registered(fake, engine, b)
        poller = await wait_leader(fake, engine, a, b)
        other = b if poller is a else a
        before = [fake.create_user(f"early{i}").id for i in range(10)]
        await _start_and_wait(fake, before)
        assert await poller.signal(signal.SIGKILL) == -signal.SIGKILL
        assert await wait_leader(fake, engine, other) is other
        after = [fake.create_user(f"late{i}").id for i in range(10)]
        await _start_and_wait(fake, after)
        await asyncio.sleep(1.0)  # a second answer would arrive now
    finally:
        await stop_all(a, b)
    assert received(fake, before + after) == {u: 1 for u in before + after}
    _no_floods(fake)
    no_traceback(a, b)
    for instance in (a, b):
        assert instance.output().count("409 Conflict") <= 1


async def test_sqlite_runs_one_process_and_refuses_a_second(
    server: FakeTelegramServer, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    fake = server.fake
    _articles(engine)
    chats = add_subscribers(fake, engine, 30)
    start = {
        "server": server,
        "database_url": settings.database_url,
        "tmp_path": tmp_path,
        "scale": SCALE,
    }
    first = await start_instance("first", **start)  # type: ignore[arg-type]
    try:
        await until(lambda: all(received(fake, chats).values()))
        second = await start_instance("second", **start)  # type: ignore[arg-type]
        assert await asyncio.wait_for(second.proc.wait(), 30) == 2
        [line] = second.output().splitlines()
        assert line.startswith("digestbot: another digestbot process is already running on ")
        assert fake.token not in line
    finally:
        await stop_all(first)
    assert first.proc.returncode == 0
    assert received(fake, chats) == {c: 1 for c in chats}
    no_traceback(first)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.postgres
async def test_webhook_instances_each_answer_what_they_are_given_one_sends(
    server: FakeTelegramServer, postgres_engine: Engine, tmp_path: Path
) -> None:
    fake, engine = server.fake, postgres_engine
    secret = "lb-Secret_1"
    urls: list[str] = []
    started: list[Instance] = []
    try:
        for name in ("a", "b"):
            port = _free_port()
            urls.append(f"http://127.0.0.1:{port}/hook")
            started.append(
                await start_instance(
                    name,
                    server=server,
                    database_url=_url(engine),
                    tmp_path=tmp_path,
                    scale=SCALE,
                    extra={
                        "DIGESTBOT_WEBHOOK_URL": urls[-1],
                        "DIGESTBOT_WEBHOOK_PORT": str(port),
                        "DIGESTBOT_WEBHOOK_SECRET": secret,
                    },
                )
            )
        for instance in started:
            await wait_registered(fake, engine, instance)
        await wait_leader(fake, engine, *started)
        roles = sorted(row.roles for row in registered(engine))
        assert roles == [("webhook",), ("webhook", "sender")]
        # A load balancer hands updates to either instance: point Telegram at each in turn.
        users: list[int] = []
        for url in urls:
            await fake.call_api("setWebhook", {"url": url, "secret_token": secret})
            batch = [fake.create_user(f"via{len(users) + i}").id for i in range(5)]
            await _start_and_wait(fake, batch)
            users += batch
        await asyncio.sleep(1.0)
    finally:
        await stop_all(*started)
    assert received(fake, users) == {u: 1 for u in users}
    assert {a.url for a in fake.webhook_attempts if a.delivered} == set(urls)
    assert not fake.requests_for("getUpdates")
    _no_floods(fake)
    no_traceback(*started)
