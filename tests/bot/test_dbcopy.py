"""``digestbot db copy``: a sandbox database moved to PostgreSQL keeps every chat and run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.cli import main
from bot.config import Settings
from bot.sandbox import Sandbox, SandboxOptions
from storage import runs
from storage.copy import non_empty_table, tables
from storage.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def empty_postgres(postgres_url: str) -> Iterator[str]:
    """The run's own PostgreSQL database, emptied (not even migrated)."""
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield postgres_url


async def _sandbox_with_a_digest(settings: Settings, engine: Engine) -> None:
    """What a few minutes in the sandbox leave behind: articles, chats, a delivered digest."""
    async with Sandbox(settings, engine, SandboxOptions(port=0)) as sandbox:
        for name in ("Ann", "Bo"):
            user = sandbox.fake.create_user(name, language_code="en")
            assert (await sandbox.deliver_now(user.id, user.id))["planned"] == 1
        service = sandbox.application.bot_data["digest_delivery"]  # type: ignore[union-attr]
        await sandbox.fake.wait_for(lambda: service.broadcaster.total.sent == 2, timeout=15)


def _status(url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["status"]) == 0
    return capsys.readouterr().out


async def test_copy_a_sandbox_database_to_postgres(
    settings: Settings,
    engine: Engine,
    empty_postgres: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _sandbox_with_a_digest(settings, engine)
    before = _status(settings.database_url, monkeypatch, capsys)
    assert "subscribed chats: 2" in before

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["db", "copy", "--to", empty_postgres]) == 0
    out = capsys.readouterr().out
    assert "row counts verified" in out
    assert "chat: 2 rows" in out and "delivery: 2 rows" in out

    after = _status(empty_postgres, monkeypatch, capsys)
    assert after == before  # the same chats, outbox and runs

    source, target = engine, make_engine(empty_postgres)
    try:
        with source.connect() as a, target.connect() as b:
            for table in tables():
                order = list(table.primary_key.columns)
                rows_a = a.execute(table.select().order_by(*order)).all()
                rows_b = b.execute(table.select().order_by(*order)).all()
                assert rows_a == rows_b, table.name
        # Sequences moved past the copied ids: the next run gets a fresh id.
        with Session(target) as session:
            run_id = runs.create_run(session=session, now=datetime.now(UTC))
            session.commit()
        with source.connect() as a:
            largest = a.execute(text("SELECT max(id) FROM digest_run")).scalar_one()
        assert run_id == largest + 1
    finally:
        target.dispose()


def test_a_non_empty_target_is_refused_with_one_line(
    settings: Settings,
    engine: Engine,
    empty_postgres: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    with Session(engine) as session:
        runs.create_run(session=session, now=datetime.now(UTC))
        session.commit()
    assert main(["db", "copy", "--to", empty_postgres]) == 0
    capsys.readouterr()
    assert main(["db", "copy", "--to", empty_postgres]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "the target database is not empty (table digest_run has 1 rows)" in err
    target = make_engine(empty_postgres)
    try:
        assert non_empty_table(target) == ("digest_run", 1)  # nothing copied twice
    finally:
        target.dispose()


def test_bad_target_urls_are_one_line(
    settings: Settings,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["db", "copy", "--to", "not a url"]) == 2
    assert capsys.readouterr().err.startswith("digestbot: --to: not a database URL")
    assert main(["db", "copy", "--to", "postgresql+psycopg://u:hunter22@127.0.0.1:9/x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hunter22" not in err and "u:***@127.0.0.1:9" in err
    assert main(["db", "copy", "--to", settings.database_url]) == 2
    assert "names the database being copied" in capsys.readouterr().err
