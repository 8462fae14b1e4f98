"""The leader election (PostgreSQL advisory lock), the SQLite run lock and the coordinator."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from telegram.error import Conflict, NetworkError

from bot.cli import main
from bot.config import ConfigError, Settings, load_settings
from bot.delivery.election import AlreadyRunning, LeaderLock, lock_key, sqlite_run_lock
from bot.delivery.instances import Coordinator, webhook_share
from bot.runner import PollingErrors
from storage.db import make_engine
from storage.instances import instances

TOKEN = "123456:secret-part"


def test_lock_keys_depend_on_the_bot_id_only() -> None:
    assert lock_key(TOKEN) == lock_key("123456:another-secret")
    assert lock_key(TOKEN) != lock_key("654321:secret-part")
    assert -(2**63) <= lock_key(TOKEN) < 2**63


@pytest.mark.postgres
def test_one_leader_per_bot_and_takeover_when_its_connection_dies(
    postgres_engine: Engine,
) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(2)]
    first, second = (LeaderLock(e, TOKEN) for e in engines)
    other_bot = LeaderLock(engines[1], "777:x")
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert other_bot.try_acquire()  # another bot on the same database
        assert first.check()
        # The leader's process dies: the server ends its session, and the lock with it.
        with postgres_engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' "
                    "AND objid::bigint = (CAST(:key AS bigint) & 4294967295)"
                    " AND pid <> pg_backend_pid()"
                ),
                {"key": lock_key(TOKEN)},
            )
        assert not first.check()
        assert second.try_acquire()
        assert not first.try_acquire()
        second.release()
        assert first.try_acquire()
    finally:
        for lock in (first, second, other_bot):
            lock.release()
        for e in engines:
            e.dispose()


def test_sqlite_has_one_process_which_always_leads(engine: Engine, settings: Settings) -> None:
    lock = LeaderLock(engine, TOKEN)
    assert lock.try_acquire() and lock.check()
    held = sqlite_run_lock(settings.database_url)
    assert held is not None
    try:
        with pytest.raises(AlreadyRunning, match=r"already running on .*test\.sqlite3"):
            sqlite_run_lock(settings.database_url)
    finally:
        held.close()
    again = sqlite_run_lock(settings.database_url)  # free once the holder is gone
    assert again is not None
    again.close()
    assert sqlite_run_lock("postgresql+psycopg://postgres@127.0.0.1/x") is None


def test_a_second_run_on_one_sqlite_file_is_one_line_and_exit_2(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    held = sqlite_run_lock(settings.database_url)
    try:
        assert main(["run"]) == 2
    finally:
        assert held is not None
        held.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already running" in err
    assert "Traceback" not in err and "secret-part" not in err


def test_a_409_conflict_is_one_warning_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors = PollingErrors()
    with caplog.at_level(logging.DEBUG, logger="bot.app"):
        for _ in range(5):
            errors(Conflict("terminated by other getUpdates request"))
        errors(NetworkError("connection refused"))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "409 Conflict" in warnings[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)
    assert errors.conflicts == 5


async def test_the_coordinator_registers_leads_and_unregisters(engine: Engine) -> None:
    changes: list[bool] = []

    async def on_leader(leader: bool) -> None:
        changes.append(leader)

    now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    coordinator = Coordinator(
        engine=engine,
        lock=LeaderLock(engine, TOKEN),
        instance_id="host-1-abc",
        mode="webhook",
        interval=60,
        on_leader=on_leader,
        clock=lambda: now,
    )
    await coordinator.start()
    with Session(engine) as session:
        [row] = instances(session=session, since=now - timedelta(seconds=1))
    assert (row.id, row.roles) == ("host-1-abc", ("webhook", "sender"))
    await coordinator.stop()
    assert changes == [True, False]
    with Session(engine) as session:
        assert instances(session=session) == []


def test_webhook_instances_split_one_budget() -> None:
    # Alone: everything. With others: the leader broadcasts with the rest, the others share
    # the reserve equally; the sum never exceeds the overall rate.
    assert webhook_share(30, 3, leader=True, live=1) == 30
    assert webhook_share(30, 3, leader=True, live=3) == 27
    assert webhook_share(30, 3, leader=False, live=3) == 1.5
    assert 27 + 2 * webhook_share(30, 3, leader=False, live=3) == 30


def test_the_reply_reserve_must_leave_room_for_the_broadcast(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="DIGESTBOT_REPLY_RESERVE"):
        load_settings(
            DATABASE_URL=settings.database_url,
            DIGESTBOT_REPLY_RESERVE="30",
            DIGESTBOT_RATE_OVERALL="30",
        )
    with pytest.raises(ConfigError, match="DIGESTBOT_LEASE_SECONDS"):
        load_settings(
            DATABASE_URL=settings.database_url,
            DIGESTBOT_LEASE_SECONDS="5",
            DIGESTBOT_HEARTBEAT_INTERVAL="2",
        )
