"""Punctuality: how long after its due time the first digests of a minute reach Telegram.

The fake Bot API server (``bot/emulator``, Telegram's flood limits at real speed) runs in its
own process and timestamps every message it accepts. The bot side is the real delivery
service (``DeliveryService``: planner + sender + ``TelegramRateLimiter``) ticking every
``--interval`` seconds as the JobQueue does, started ``--offset`` seconds before N chats are
due. Two runs in one invocation, on fresh databases and disjoint chats:

* ``ahead``: as shipped, planning two intervals ahead (rows wait for their due time);
* ``due only``: the same code with the look-ahead set to zero (the behaviour before), so a
  digest waits for the first tick after its time.

    .venv/bin/python benchmarks/punctual.py --chats 300 --interval 30 --offset 37
    .venv/bin/python benchmarks/punctual.py ... --url postgresql+psycopg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text
from sqlmodel import Session
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.config import load_settings
from bot.delivery.broadcaster import Broadcaster, DeliveryOptions
from bot.delivery.planner import DeliveryService
from bot.delivery.ratelimit import RateLimits, TelegramRateLimiter
from storage.db import make_engine, upgrade
from storage.models import Chat
from tests.factories import make_article

FIRST_USER = 1_000_000


def _server(conn: Connection, total: int) -> None:
    from bot.emulator import FakeTelegram, FakeTelegramServer

    async def main() -> None:
        fake = FakeTelegram()
        fake.flood.configure(enabled=True, time_scale=1.0)
        for i in range(total):
            fake.create_user(f"u{i}", user_id=FIRST_USER + i)
        async with FakeTelegramServer(fake) as server:
            conn.send((server.base_url, fake.token))
            loop = asyncio.get_running_loop()
            while True:
                command = await loop.run_in_executor(None, conn.recv)
                if command == "stop":
                    break
                low, high = command
                conn.send(
                    {
                        "stamps": sorted(
                            r.at.timestamp()
                            for r in fake.requests_for("sendMessage")
                            if r.ok and low <= int(r.params["chat_id"]) < high
                        ),
                        "rejected": len(fake.flood.rejections),
                    }
                )

    asyncio.run(main())


async def _run(tmp: str, base: tuple[str, str], first: int, args: Any, *, ahead: bool) -> datetime:
    url = args.url or f"sqlite:///{tmp}/punctual-{first}.sqlite3"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # a database of the benchmark's own: each run starts empty
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    settings = load_settings(DATABASE_URL=url, DIGESTBOT_PLANNER_INTERVAL=str(args.interval))
    started = datetime.now(UTC)
    due = started + timedelta(seconds=args.offset)
    with Session(engine) as session:
        for _ in range(5):
            make_article(session)
        session.execute(
            insert(Chat),
            [
                {
                    "id": first + i,
                    "type": "private",
                    "timezone": "UTC",
                    "digest_time": due.strftime("%H:%M"),
                    "subscribed": True,
                    "next_digest_at": due,
                    "created_at": started,
                    "updated_at": started,
                }
                for i in range(args.chats)
            ],
        )
        session.commit()
    base_url, token = base
    bot: ExtBot[Any] = ExtBot(
        token=token,
        base_url=base_url,
        request=HTTPXRequest(connection_pool_size=64),
        rate_limiter=TelegramRateLimiter(RateLimits()),
    )
    await bot.initialize()
    broadcaster = Broadcaster(
        bot=bot, engine=engine, settings=settings, options=DeliveryOptions.from_settings(settings)
    )
    service = DeliveryService(broadcaster=broadcaster, engine=engine, settings=settings)
    if not ahead:
        service.lookahead = timedelta(0)
    # Tick like the JobQueue: at start, then every interval, until every digest is out.
    deadline = time.monotonic() + args.offset + 3 * args.interval + args.chats / 25
    while time.monotonic() < deadline:
        await service.tick()
        await asyncio.sleep(args.interval)
        if broadcaster.total.sent >= args.chats:
            break
    await service.stop()
    await bot.shutdown()
    engine.dispose()
    return due


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--interval", type=float, default=30.0, help="planner interval (s)")
    parser.add_argument("--offset", type=float, default=37.0, help="due this long after start")
    parser.add_argument("--url", default=None, help="database URL (default: temp SQLite files)")
    args = parser.parse_args()
    parent, child = mp.Pipe()
    server = mp.Process(target=_server, args=(child, 2 * args.chats), daemon=True)
    server.start()
    base = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        for label, first, ahead in (
            ("ahead (as shipped)", FIRST_USER, True),
            ("due only (look-ahead 0, as before)", FIRST_USER + args.chats, False),
        ):
            due = asyncio.run(_run(tmp, base, first, args, ahead=ahead))
            parent.send((first, first + args.chats))
            result = parent.recv()
            lags = [stamp - due.timestamp() for stamp in result["stamps"]]
            if not lags:
                print(f"{label}: nothing delivered")
                continue
            first_second = lags[min(len(lags), 30) - 1]
            print(
                f"{label}: {len(lags)} delivered; first {lags[0]:+.3f} s after due, "
                f"30th {first_second:+.3f} s, last {lags[-1]:+.3f} s; "
                f"flood errors so far {result['rejected']}"
            )
    parent.send("stop")
    server.join(5)


if __name__ == "__main__":
    main()
