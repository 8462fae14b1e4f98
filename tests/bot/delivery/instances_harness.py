"""Real ``digestbot run`` processes against the emulator served by the test's event loop.

Each instance is a subprocess with its own settings (environment), its output in a log file
under the test's tmp_path; the test counts what reached the emulator and reads the database.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.emulator import FakeTelegram, FakeTelegramServer
from storage.instances import InstanceRow, instances
from storage.models import Chat, Delivery

PROJECT_ROOT = str(Path(__file__).resolve().parents[3])


class Instance:
    """One ``digestbot run`` process."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.proc = proc
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def signal(self, sig: int) -> int:
        """Send ``sig`` and return the exit status (a clean stop takes well under 15 s)."""
        self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), 15)

    async def ensure_dead(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def start_instance(
    name: str,
    *,
    server: FakeTelegramServer,
    database_url: str,
    tmp_path: Path,
    scale: float,
    extra: dict[str, str] | None = None,
) -> Instance:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DIGESTBOT_", "TELEGRAM_")) and key != "DATABASE_URL"
    }
    env.update(
        PYTHONPATH=PROJECT_ROOT,
        TELEGRAM_BOT_TOKEN=server.fake.token,
        TELEGRAM_API_BASE_URL=server.base_url,
        DATABASE_URL=database_url,
        DIGESTBOT_RATE_TIME_SCALE=str(scale),
        # The emulator shares the test's event loop: its arrival times carry that loop's jitter.
        DIGESTBOT_RATE_SAFETY="0.1",
        DIGESTBOT_HEARTBEAT_INTERVAL="0.5",
        DIGESTBOT_LEASE_SECONDS="3",
        DIGESTBOT_PLANNER_INTERVAL="5",
    )
    env.update(extra or {})
    workdir = tmp_path / name
    workdir.mkdir(exist_ok=True)
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    return Instance(name, proc, log)


async def until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    """Poll ``condition`` five times a second. Counting 600 chats on every request the
    emulator answers would slow the emulator down, and it shares this event loop."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {seconds}s"
        await asyncio.sleep(0.2)


def registered(engine: Engine) -> list[InstanceRow]:
    with Session(engine) as session:
        return instances(session=session)


async def wait_registered(fake: FakeTelegram, engine: Engine, instance: Instance) -> InstanceRow:
    def found() -> InstanceRow | None:
        return next((i for i in registered(engine) if i.pid == instance.pid), None)

    row = await fake.wait_for(found, timeout=30)
    assert isinstance(row, InstanceRow)
    return row


async def wait_leader(fake: FakeTelegram, engine: Engine, *among: Instance) -> Instance:
    """The instance that holds the sender role (waits until one does)."""
    pids = {i.pid: i for i in among}

    def leader() -> Instance | None:
        for row in registered(engine):
            if "sender" in row.roles and row.pid in pids:
                return pids[row.pid]
        return None

    found = await fake.wait_for(leader, timeout=30)
    assert isinstance(found, Instance)
    return found


def add_subscribers(fake: FakeTelegram, engine: Engine, n: int) -> list[int]:
    """``n`` private chats known to the emulator and subscribed in the database, all due."""
    due = datetime.now(UTC) - timedelta(minutes=1)
    ids = [fake.create_user(f"user{i}").id for i in range(n)]
    rows: list[dict[str, Any]] = [
        {
            "id": chat_id,
            "type": "private",
            "timezone": "Europe/Berlin",
            "digest_time": "08:00",
            "subscribed": True,
            "active": True,
            "article_count": 3,
            "next_digest_at": due,
            "created_at": due,
            "updated_at": due,
        }
        for chat_id in ids
    ]
    with Session(engine) as session:
        session.execute(insert(Chat), rows)
        session.commit()
    return ids


def states(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(session.scalars(select(Delivery.state)))


def owned(engine: Engine) -> Counter[tuple[str, str | None]]:
    """Rows someone holds: (state, owner) -> count."""
    with Session(engine) as session:
        rows = session.execute(
            select(Delivery.state, Delivery.owner).where(Delivery.owner.is_not(None))  # type: ignore[union-attr]
        )
        return Counter((str(state), owner) for state, owner in rows)


def received(fake: FakeTelegram, chats: list[int]) -> Counter[int]:
    return Counter({c: len(fake.bot_messages(c)) for c in chats})


def no_traceback(*instances_: Instance) -> None:
    for instance in instances_:
        text = instance.output()
        assert "Traceback" not in text, f"{instance.name}:\n{text[-4000:]}"


async def stop_all(*instances_: Instance) -> None:
    for instance in instances_:
        if instance.proc.returncode is None:
            await instance.signal(signal.SIGTERM)


__all__ = [
    "Instance",
    "add_subscribers",
    "no_traceback",
    "owned",
    "received",
    "registered",
    "start_instance",
    "states",
    "stop_all",
    "until",
    "wait_leader",
    "wait_registered",
]
