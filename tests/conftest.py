"""Shared fixtures: real SQLite files (and PostgreSQL when it answers), settings, factories."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings, load_settings
from bot.logs import QUIET_LOGGERS
from storage.db import make_engine, upgrade

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def _postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``bot.cli.main`` configures logging for its process (one redacting root handler);
    tests that call it get the root logger back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    named = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    for name, old in named.items():
        logging.getLogger(name).setLevel(old)
    logging.captureWarnings(False)


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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own, so parallel runs on one server never interfere;
    dropped at the end. Skips where PostgreSQL does not answer."""
    if not _postgres_answers():
        pytest.skip("PostgreSQL does not answer at 127.0.0.1:5432")
    name = f"digestbot_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fresh_postgres(url: str) -> Engine:
    eng = make_engine(url)
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
        eng = _fresh_postgres(request.getfixturevalue("postgres_url"))
    yield eng
    eng.dispose()


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """A freshly migrated schema in this run's PostgreSQL database (skips without a server)."""
    eng = _fresh_postgres(postgres_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s
