"""Broadcast benchmark: digestbot's sender vs a plain PTB loop with AIORateLimiter.

(a) Telegram-like flood limits on the fake server, sped up by --scale so 3,000 chats fit in
    well under a minute: achieved rate as a share of the allowed rate, and flood errors (429s).
(b) Limits lifted (--unlimited): CPU time of the bot process per delivered message.
    --paid instead keeps the rate limiter on and sends ``allow_paid_broadcast`` requests, so
    the paid lane paces them at 1,000 msg/s (the case the 0.5 ms target is about).
    --ptb-stack sends through ``bot.send_message`` (PTB's full stack, httpx) instead of the
    lean Bot API client (``bot.delivery.botapi.BotApiClient``, on aiohttp).

The fake Bot API server runs in a separate process, so the bot's CPU time is its own:
``time.process_time()`` of the bot process (every thread, so the outbox's database work in
worker threads counts) around ``Broadcaster.run_pass()``; setup and planning are outside.

    .venv/bin/python benchmarks/broadcast.py --chats 3000 --scale 2
    .venv/bin/python benchmarks/broadcast.py --chats 3000 --unlimited
    .venv/bin/python benchmarks/broadcast.py --chats 3000 --paid
    .venv/bin/python benchmarks/broadcast.py --chats 3000 --unlimited --asyncio --batch 64
    .venv/bin/python benchmarks/broadcast.py --chats 100000 --scale 30 --rss --no-contender

digestbot's side runs on the loop `digestbot run` uses (uvloop where installed; --asyncio:
asyncio's own); the plain PTB loop stays on asyncio, as it ships;
--url sends from a PostgreSQL database (its public schema is replaced) instead of SQLite;
--rss samples the bot process's resident memory every 50 ms: idle (everything imported, the
database filled and planned, right before the pass) and the peak during the pass.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import multiprocessing as mp
import os
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlmodel import Session
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.config import load_settings
from bot.delivery.broadcaster import Broadcaster
from bot.delivery.options import DeliveryOptions
from bot.delivery.planner import plan_once
from bot.delivery.ratelimit import RateLimits, TelegramRateLimiter
from bot.runner import run_loop
from storage.db import make_engine, upgrade
from storage.models import Chat
from tests.factories import make_article

FIRST_USER = 1_000_000


def _server(conn: Connection, chats: int, scale: float, limited: bool) -> None:
    from bot.emulator import FakeTelegram, FakeTelegramServer

    async def main() -> None:
        fake = FakeTelegram()
        fake.flood.configure(enabled=limited, time_scale=scale)
        for i in range(2 * chats):  # two disjoint sets: one per contender
            fake.create_user(f"u{i}", user_id=FIRST_USER + i)
        async with FakeTelegramServer(fake) as server:
            conn.send(server.base_url)
            loop = asyncio.get_running_loop()
            while True:
                command = await loop.run_in_executor(None, conn.recv)
                if command == "stop":
                    break
                low, high = command
                ok = sorted(
                    r.at.timestamp()
                    for r in fake.requests_for("sendMessage")
                    if r.ok and low <= int(r.params["chat_id"]) < high
                )
                rejected = sum(
                    1 for e in fake.flood.rejections if e.chat_id is None or low <= e.chat_id < high
                )
                scopes = sorted({(e.scope, e.during_penalty) for e in fake.flood.rejections})
                print("server: rejections by scope", scopes, flush=True)
                conn.send({"ok": ok, "rejected": rejected, "token": fake.token})
        conn.send("bye")

    asyncio.run(main())


def _rate(stamps: list[float]) -> float:
    if len(stamps) < 2:
        return 0.0
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _sample_rss(peak: list[float]) -> None:
    while True:
        peak[0] = max(peak[0], _rss_mb())
        await asyncio.sleep(0.05)


async def _digestbot(url: str, base_url: str, token: str, chats: int, args: Any) -> float:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    settings = load_settings(DATABASE_URL=url)
    with Session(engine) as session:
        for _ in range(5):
            make_article(session)
        session.commit()
        due = datetime.now(UTC) - timedelta(seconds=5)
        for start in range(0, chats, 10_000):
            rows = [
                {
                    "id": FIRST_USER + i,
                    "type": "private",
                    "timezone": "UTC",
                    "digest_time": "08:00",
                    "subscribed": True,
                    "next_digest_at": due,
                    "created_at": due,
                    "updated_at": due,
                }
                for i in range(start, min(chats, start + 10_000))
            ]
            session.execute(insert(Chat), rows)
        session.commit()
    plan_once(engine=engine, now=datetime.now(UTC), grace=timedelta(hours=6))
    if args.paid:
        limits = RateLimits(paid_per_second=1000.0)
    else:
        limits = RateLimits(time_scale=args.scale, enabled=not args.unlimited)
    bot: ExtBot[Any] = ExtBot(
        token=token,
        base_url=base_url,
        request=HTTPXRequest(connection_pool_size=64),
        rate_limiter=TelegramRateLimiter(limits),
    )
    await bot.initialize()
    sender = Broadcaster(
        bot=bot,
        engine=engine,
        settings=settings,
        options=DeliveryOptions(
            workers=args.workers,
            claim_batch=args.batch or DeliveryOptions().claim_batch,
            allow_paid_broadcast=args.paid,
            fast_path=not args.ptb_stack,
        ),
    )
    gc.collect()
    idle = _rss_mb()
    peak = [idle]
    sampler = asyncio.create_task(_sample_rss(peak)) if args.rss else None
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    cpu = time.process_time()
    stats = await sender.run_pass()
    cpu = time.process_time() - cpu
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    if sampler is not None:
        sampler.cancel()
    await bot.shutdown()
    engine.dispose()
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    batch = args.batch or DeliveryOptions().claim_batch
    print(
        f"digestbot ({'PTB stack' if args.ptb_stack else 'fast path, aiohttp'}, {loop} loop, "
        f"batch {batch}, {make_url(url).get_backend_name()}): "
        f"sent {stats.sent} in {stats.elapsed:.2f}s wall, {cpu:.2f}s CPU "
        f"= {1000 * cpu / max(1, stats.sent):.3f} ms CPU/message; renders {sender.builder.renders}"
    )
    if args.rss:
        print(
            f"digestbot RSS: idle {idle:.0f} MB, peak during the pass {peak[0]:.0f} MB "
            f"(+{peak[0] - idle:.0f} MB, +{100 * (peak[0] - idle) / idle:.1f}%)"
        )
    return cpu


async def _plain_ptb(base_url: str, token: str, chats: int, args: Any) -> None:
    limiter = (
        None
        if args.unlimited
        else AIORateLimiter(
            overall_max_rate=30 * args.scale, group_max_rate=20 * args.scale, max_retries=5
        )
    )
    bot: ExtBot[Any] = ExtBot(
        token=token,
        base_url=base_url,
        request=HTTPXRequest(connection_pool_size=64),
        rate_limiter=limiter,
    )
    await bot.initialize()
    text = "<b>Your AI digest</b>\n\n1. <b>Article</b> — summary"
    started, cpu = time.monotonic(), time.process_time()
    semaphore = asyncio.Semaphore(args.workers if args.unlimited else 10**6)

    async def send(chat_id: int) -> bool:
        async with semaphore:
            try:
                await bot.send_message(chat_id, text, parse_mode="HTML")
                return True
            except Exception:
                return False

    results = await asyncio.gather(*[send(FIRST_USER + chats + i) for i in range(chats)])
    cpu = time.process_time() - cpu
    await bot.shutdown()
    sent = sum(results)
    print(
        f"plain PTB: sent {sent} in {time.monotonic() - started:.2f}s wall, {cpu:.2f}s CPU "
        f"= {1000 * cpu / max(1, sent):.3f} ms CPU/message"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--batch", type=int, default=0, help="claim batch (default: the bot's)")
    parser.add_argument("--unlimited", action="store_true")
    parser.add_argument("--paid", action="store_true")
    parser.add_argument("--ptb-stack", action="store_true")
    parser.add_argument("--asyncio", action="store_true", help="digestbot's side on asyncio")
    parser.add_argument("--url", default=None, help="database URL (default: a temp SQLite file)")
    parser.add_argument("--rss", action="store_true", help="idle and peak RSS of the bot")
    parser.add_argument("--no-contender", action="store_true", help="skip the plain PTB loop")
    parser.add_argument(
        "--profile", type=int, default=0, help="cProfile the pass (loop thread): print N rows"
    )
    args = parser.parse_args()
    if args.paid:
        args.unlimited = True  # the server's flood limits off; our paid lane paces at 1,000/s
    parent, child = mp.Pipe()
    server = mp.Process(
        target=_server, args=(child, args.chats, args.scale, not args.unlimited), daemon=True
    )
    server.start()
    base_url = parent.recv()
    parent.send((0, 0))
    token = parent.recv()["token"]
    allowed = 30 * args.scale
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.sqlite3"
        run = _digestbot(url, base_url, token, args.chats, args)
        if args.asyncio:
            asyncio.run(run)
        else:
            run_loop(run)  # as `digestbot run` does
    parent.send((FIRST_USER, FIRST_USER + args.chats))
    ours = parent.recv()
    results = [("digestbot", ours)]
    if not args.no_contender:
        asyncio.run(_plain_ptb(base_url, token, args.chats, args))
        parent.send((FIRST_USER + args.chats, FIRST_USER + 2 * args.chats))
        results.append(("PTB + AIORateLimiter", parent.recv()))
    parent.send("stop")
    parent.recv()
    server.join(5)
    for name, result in results:
        rate = _rate(result["ok"])
        share = (
            f"{100 * rate / allowed:.1f}% of allowed {allowed:.0f}/s" if not args.unlimited else ""
        )
        print(
            f"{name:>22}: delivered {len(result['ok'])}, {rate:.1f} msg/s {share}, "
            f"flood errors (429) {result['rejected']}"
        )


if __name__ == "__main__":
    main()
