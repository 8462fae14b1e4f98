"""Shared fixtures: real SQLite files (and PostgreSQL when it answers), settings, factories."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings, load_settings
from storage.db import make_engine, upgrade

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # Tests never read the developer's .env or environment.
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith(("DIGESTBOT_", "TELEGRAM_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    return load_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'test.sqlite3'}")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """A migrated SQLite file."""
    eng = make_engine(settings.database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


def _fresh_postgres() -> Engine:
    eng = make_engine(POSTGRES_URL)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(eng)
    return eng


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database on each backend: SQLite always, PostgreSQL where it answers."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'any.sqlite3'}")
        upgrade(eng)
    else:
        if not _postgres_answers():
            pytest.skip("PostgreSQL does not answer at 127.0.0.1:5432")
        eng = _fresh_postgres()
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s
