"""Several instances on one PostgreSQL: shared rate budget and sender failover.

Real ``digestbot run`` processes against the Bot API emulator (Telegram-like flood limits,
sped up by --scale) on loopback, and a PostgreSQL database of the benchmark's own (created,
dropped at the end):

(a) one instance broadcasts to --chats chats; then two instances started together do the same
    (one elected sender, one budget): achieved rate from the first to the last digest as a
    share of the allowed rate, and flood errors (429s) and requests during a flood wait;
(b) two instances mid-broadcast, the sender killed with SIGKILL: seconds from the kill to the
    first message sent by the survivor, and per-chat losses and duplicates once it finished.

    .venv/bin/python benchmarks/instances.py --chats 3000 --scale 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.emulator import FakeTelegram, FakeTelegramServer
from storage.db import make_engine, upgrade
from tests.bot.delivery.instances_harness import (
    Instance,
    add_subscribers,
    received,
    start_instance,
    stop_all,
    wait_leader,
    wait_registered,
)
from tests.factories import make_article

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def _fresh(url: str) -> Engine:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    with Session(engine) as session:
        for i in range(5):
            make_article(session, hot=90 - i)
    return engine


async def _until(condition: Callable[[], bool], seconds: float, every: float = 0.5) -> None:
    """Poll now and then: checking on every request would load the emulator's loop, which is
    the Bot API being measured."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        await asyncio.sleep(every)


def _sends(fake: FakeTelegram) -> list[datetime]:
    return [r.at for r in fake.requests_for("sendMessage") if r.ok]


def _floods(fake: FakeTelegram) -> tuple[int, int]:
    return len(fake.flood.rejections), len(fake.flood.penalty_violations)


async def _broadcast(url: str, chats: int, scale: float, instances: int, tmp: Path) -> str:
    engine = _fresh(url)
    fake = FakeTelegram()
    fake.flood.configure(enabled=True, time_scale=scale)
    ids = add_subscribers(fake, engine, chats)
    async with FakeTelegramServer(fake) as server:
        started: list[Instance] = []
        try:
            for n in range(instances):
                started.append(
                    await start_instance(
                        f"bench{instances}-{n}",
                        server=server,
                        database_url=url,
                        tmp_path=tmp,
                        scale=scale,
                        extra={"DIGESTBOT_RATE_SAFETY": "0.005"},
                    )
                )
            await _until(lambda: all(received(fake, ids).values()), 3600)
            await asyncio.sleep(1.0)
        finally:
            await stop_all(*started)
    engine.dispose()
    stamps = sorted(_sends(fake))
    seconds = (stamps[-1] - stamps[0]).total_seconds()
    rate = (len(stamps) - 1) / seconds
    allowed = 30 * scale
    counts = received(fake, ids)
    rejected, during = _floods(fake)
    return (
        f"{instances} instance(s): {len(stamps)} sent to {chats} chats in {seconds:.1f} s, "
        f"{rate:.1f} msg/s = {100 * rate / allowed:.1f} % of allowed {allowed:.0f}/s; "
        f"429s {rejected}, during a flood wait {during}; "
        f"lost {sum(1 for n in counts.values() if n == 0)}, "
        f"duplicates {sum(n - 1 for n in counts.values() if n > 1)}"
    )


async def _failover(url: str, chats: int, scale: float, tmp: Path) -> str:
    engine = _fresh(url)
    fake = FakeTelegram()
    fake.flood.configure(enabled=True, time_scale=scale)
    ids = add_subscribers(fake, engine, chats)
    async with FakeTelegramServer(fake) as server:
        common: dict[str, Any] = {
            "server": server,
            "database_url": url,
            "tmp_path": tmp,
            "scale": scale,
            "extra": {"DIGESTBOT_RATE_SAFETY": "0.005", "DIGESTBOT_SENDING_POLICY": "resend"},
        }
        a = await start_instance("fail-a", **common)
        b = await start_instance("fail-b", **common)
        try:
            await wait_registered(fake, engine, a)
            await wait_registered(fake, engine, b)
            await _until(lambda: len(_sends(fake)) >= chats // 4, 600)
            sender = await wait_leader(fake, engine, a, b)
            survivor = b if sender is a else a
            sender.proc.send_signal(signal.SIGKILL)
            killed_at = datetime.now().astimezone()
            mono = time.monotonic()
            await sender.proc.wait()

            def first_after() -> datetime | None:
                # Sent by the survivor: the request *arrived* after the kill (the dead
                # process's last requests may still be answered just after it).
                return next(
                    (
                        r.at
                        for r in fake.requests_for("sendMessage")
                        if r.ok and r.at - timedelta(seconds=r.duration) > killed_at
                    ),
                    None,
                )

            await _until(lambda: first_after() is not None, 120, every=0.05)
            first = first_after()
            assert first is not None
            takeover = (first - killed_at).total_seconds()
            waited = time.monotonic() - mono
            assert await wait_leader(fake, engine, survivor) is survivor
            await _until(lambda: all(received(fake, ids).values()), 3600)
            await asyncio.sleep(1.0)
        finally:
            await stop_all(a, b)
    engine.dispose()
    counts = received(fake, ids)
    rejected, during = _floods(fake)
    return (
        f"SIGKILL of the sender -> first message by the survivor: {takeover:.2f} s "
        f"(observed after {waited:.2f} s); lost {sum(1 for n in counts.values() if n == 0)}, "
        f"duplicates {sum(n - 1 for n in counts.values() if n > 1)}; "
        f"429s {rejected}, during a flood wait {during}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--runs", default="one,two,failover", help="which parts, comma-separated")
    args = parser.parse_args()
    runs = set(args.runs.split(","))
    name = f"digestbot_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{SERVER}/{name}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for count, part in ((1, "one"), (2, "two")):
                if part in runs:
                    result = await _broadcast(url, args.chats, args.scale, count, Path(tmp))
                    print(result, flush=True)
            if "failover" in runs:
                print(await _failover(url, args.chats, args.scale, Path(tmp)), flush=True)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
