"""Who may poll and send: one leader per bot token among every instance on one database.

PostgreSQL: the leader holds a session-level advisory lock (``pg_try_advisory_lock``) on a
connection of its own. The server releases it the moment that connection ends — a clean stop,
a SIGKILL (the kernel closes the socket) or a lost network — so a standby that tries every
heartbeat takes over within about one heartbeat. The key is derived from the bot's numeric id
(the part of the token before ``:``, not secret), so two bots can share a database.

SQLite: one process per database file, enforced by an exclusive ``flock`` on a lock file beside
it (``<database>.run.lock``); that process always leads. A second ``digestbot run`` on the same
file is refused with ``AlreadyRunning``.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

_LOGGER = logging.getLogger(__name__)


class AlreadyRunning(Exception):
    """Another process already runs the bot on this SQLite database file."""


def lock_key(token: str, role: str = "leader") -> int:
    """A signed 64-bit advisory-lock key for this bot and role."""
    bot_id = token.split(":", 1)[0]
    digest = hashlib.sha256(f"digestbot:{role}:{bot_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaderLock:
    """The leader lock. ``try_acquire`` and ``check`` block (call them from a worker thread)."""

    def __init__(self, engine: Engine, token: str) -> None:
        self.engine = engine
        self.key = lock_key(token)
        self.postgres = engine.dialect.name == "postgresql"
        self._connection: Connection | None = None
        self.held = not self.postgres  # SQLite: the run lock already made us the only process

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True while this instance holds it."""
        if not self.postgres or self.held:
            return self.held
        try:
            if self._connection is None:
                self._connection = self.engine.connect()
            got = self._connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar_one()
            self._connection.commit()  # end the implicit transaction; the lock is per session
        except (OperationalError, DBAPIError) as exc:
            _LOGGER.warning("leader election: database unavailable (%s)", type(exc).__name__)
            self._drop_connection()
            return False
        self.held = bool(got)
        return self.held

    def check(self) -> bool:
        """Still the leader? False once the lock's connection is gone (the lock went with it)."""
        if not self.postgres or not self.held:
            return self.held
        assert self._connection is not None
        try:
            self._connection.execute(text("SELECT 1")).scalar_one()
            self._connection.commit()
        except (OperationalError, DBAPIError) as exc:
            _LOGGER.warning("lost the leader lock with its connection (%s)", type(exc).__name__)
            self._drop_connection()
            self.held = False
        return self.held

    def release(self) -> None:
        if not self.postgres:
            return
        if self._connection is not None and self.held:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                self._connection.commit()
            except (OperationalError, DBAPIError) as exc:
                _LOGGER.warning("could not release the leader lock: %s", type(exc).__name__)
        self.held = False
        self._drop_connection()

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        self.held = False
        if connection is not None:
            try:
                connection.invalidate()  # never back into the pool: it may still hold the lock
                connection.close()
            except (OperationalError, DBAPIError):
                pass


def sqlite_run_lock(database_url: str) -> IO[bytes] | None:
    """Lock a SQLite database file for this process (None for other backends).

    Keep the returned file open for the life of the process; the kernel releases the lock when
    the process ends, however it ends. Raises ``AlreadyRunning`` if another process holds it.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(str(url.database)).expanduser().resolve()
    lock_path = path.with_name(path.name + ".run.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+b")  # noqa: SIM115 - held open for the whole process
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(
            f"another digestbot process is already running on {path}; SQLite supports one "
            "process — stop it first, or use PostgreSQL to run several instances"
        ) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n".encode())
    handle.flush()
    return handle
