"""Reply latency under a broadcast: commands answered while N chats get their digest.

The fake Bot API server (``bot/emulator``, Telegram's flood limits at real speed unless
``--scale``) runs in its own process, with a "user" there who sends a command every
``--every`` seconds and times it from the moment the update is queued until the bot's answer
arrives: getUpdates long polling, the handler and its query, the rate limiter (where the reply
must overtake the digest backlog), the HTTP answer. The bot is the real Application
(``bot.app.build_application``: handlers, planner job, broadcaster) polling that server.

    .venv/bin/python benchmarks/replies.py --chats 3000 --command /top
    .venv/bin/python benchmarks/replies.py --chats 3000 --url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text, update
from sqlmodel import Session, col

from bot.app import build_application
from bot.config import load_settings
from bot.delivery.planner import SERVICE_KEY, DeliveryService
from bot.runner import run_loop
from storage.db import make_engine, upgrade
from storage.models import Chat
from tests.factories import make_article

FIRST_USER = 1_000_000
ASKER = 999


def _server(conn: Connection, args: Any) -> None:
    from bot.emulator import FakeTelegram, FakeTelegramServer

    async def main() -> None:
        fake = FakeTelegram()
        fake.flood.configure(enabled=True, time_scale=args.scale)
        for i in range(args.chats):
            fake.create_user(f"u{i}", user_id=FIRST_USER + i)
        asker = fake.create_user("asker", user_id=ASKER, language_code="en")
        async with FakeTelegramServer(fake) as server:
            conn.send((server.base_url, server.base_file_url, fake.token))
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, conn.recv)  # the bot is up
            # Warm up: the first answer includes imports, connection set-up, caches.
            await fake.send_text(asker, asker, args.command)
            await fake.next_bot_message(asker, timeout=30)
            conn.send("warm")
            await loop.run_in_executor(None, conn.recv)  # the broadcast has started
            samples: list[float] = []
            sent_before = len(fake.requests_for("sendMessage"))
            started = time.monotonic()
            while True:
                delivered = sum(
                    1
                    for r in fake.requests_for("sendMessage")
                    if r.ok and int(r.params["chat_id"]) >= FIRST_USER
                )
                if delivered >= args.chats or time.monotonic() - started > args.max_seconds:
                    break
                t0 = time.perf_counter()
                await fake.send_text(asker, asker, args.command)
                await fake.next_bot_message(asker, timeout=30)
                samples.append((time.perf_counter() - t0) * 1000)
                await asyncio.sleep(args.every)
            digests = [
                r.at.timestamp()
                for r in fake.requests_for("sendMessage")[sent_before:]
                if r.ok and int(r.params["chat_id"]) >= FIRST_USER
            ]
            first, last = (min(digests), max(digests)) if digests else (0.0, 0.0)
            # Replies take their slots from the same budget: every message the flood limits
            # count, answered between the first and the last digest, is used capacity.
            counted = sum(
                1
                for r in fake.requests
                if r.ok and fake.flood.counts(r.method) and first <= r.at.timestamp() <= last
            )
            conn.send(
                {
                    "samples": samples,
                    "digests": len(digests),
                    "counted": counted,
                    "span": last - first,
                    "rejected": len(fake.flood.rejections),
                }
            )
            await loop.run_in_executor(None, conn.recv)

    asyncio.run(main())


async def _bot(url: str, conn: Connection, base: tuple[str, str, str], args: Any) -> None:
    base_url, base_file_url, token = base
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            c.execute(text("DROP SCHEMA public CASCADE"))
            c.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    settings = load_settings(DATABASE_URL=url, DIGESTBOT_PLANNER_INTERVAL="3600")
    with Session(engine) as session:
        for i in range(30):
            make_article(session, hot=i * 3)
        for i in range(args.chats):
            session.add(
                Chat(
                    id=FIRST_USER + i,
                    type="private",
                    subscribed=True,
                    next_digest_at=datetime.now(UTC) + timedelta(days=1),
                )
            )
        session.commit()
    app = build_application(
        settings, engine, token=token, base_url=base_url, base_file_url=base_file_url
    )
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=10)
    conn.send("up")
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # warmed up
    service = app.bot_data[SERVICE_KEY]
    assert isinstance(service, DeliveryService)
    with Session(engine) as session:
        # Everyone's digest is due now.
        session.execute(
            update(Chat).where(col(Chat.id) >= FIRST_USER).values(next_digest_at=datetime.now(UTC))
        )
        session.commit()
    await service.tick()
    conn.send("broadcasting")
    result = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    engine.dispose()
    conn.send("bye")
    samples = sorted(result["samples"])
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    rate = (result["digests"] - 1) / result["span"] if result["span"] else 0.0
    used = (result["counted"] - 1) / result["span"] if result["span"] else 0.0
    allowed = 30 * args.scale
    print(
        f"{args.command} answered {len(samples)} times during the broadcast: "
        f"p50 {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms, max {samples[-1]:.1f} ms; "
        f"digests delivered {result['digests']} at {rate:.1f} msg/s "
        f"({100 * rate / allowed:.1f}% of allowed {allowed:.0f}/s); with the replies "
        f"{result['counted']} messages at {used:.1f} msg/s ({100 * used / allowed:.1f}%); "
        f"flood errors (429) {result['rejected']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--command", default="/top")
    # One chat gets one message a second (Telegram): commands closer than that would measure
    # the per-chat spacing, not the bot.
    parser.add_argument("--every", type=float, default=1.2, help="seconds between commands")
    parser.add_argument("--scale", type=float, default=1.0, help="flood limits sped up")
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--url", default=None, help="database URL (default: a temp SQLite file)")
    args = parser.parse_args()
    parent, child = mp.Pipe()
    server = mp.Process(target=_server, args=(child, args), daemon=True)
    server.start()
    base = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/replies.sqlite3"
        run_loop(_bot(url, parent, base, args))  # the loop `digestbot run` uses
    server.join(10)


if __name__ == "__main__":
    main()
