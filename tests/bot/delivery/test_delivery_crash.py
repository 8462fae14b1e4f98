"""kill -9 of a sender process mid-broadcast, then a restart: losses 0, duplicates bounded.

The sender runs in a subprocess against the fake Bot API server served by this test's event
loop; the kill lands after a random number of answered sendMessage requests. Duplicates can
only come from rows caught in ``sending`` (the messages in flight at the kill).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import textwrap
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.delivery.broadcaster import Broadcaster
from bot.delivery.options import DeliveryOptions
from bot.delivery.ratelimit import RateLimits
from bot.emulator import FakeTelegram, FakeTelegramServer
from storage.models import Delivery
from tests.bot.delivery.test_delivery import SAFETY, make_bot, plan, users
from tests.factories import make_article

pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)

SCALE = 6.0  # 180 msg/s: 300 chats take under two seconds
LEASE = 1.0  # the killed sender's rows are recoverable one second after the kill
CHATS = 300
PROJECT_ROOT = str(Path(__file__).resolve().parents[3])

SENDER = textwrap.dedent(
    """
    import asyncio, sys
    from telegram.ext import ExtBot
    LEASE = 1.0
    from bot.config import load_settings
    from bot.delivery.broadcaster import Broadcaster
    from bot.delivery.options import DeliveryOptions
    from bot.delivery.ratelimit import RateLimits, TelegramRateLimiter
    from storage.db import make_engine

    async def main() -> None:
        url, base_url, token, scale, safety = sys.argv[1:6]
        engine = make_engine(url)
        limiter = TelegramRateLimiter(RateLimits(time_scale=float(scale), safety=float(safety)))
        bot = ExtBot(token=token, base_url=base_url, rate_limiter=limiter)
        await bot.initialize()
        sender = Broadcaster(
            bot=bot, engine=engine, settings=load_settings(DATABASE_URL=url),
            options=DeliveryOptions(flush_interval=0.05, lease_seconds=LEASE),
        )
        sender.recover()
        await sender.run_pass()

    asyncio.run(main())
    """
)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(FakeTelegram()) as srv:
        yield srv


@pytest.mark.parametrize(("seed", "policy"), [(1, "resend"), (2, "resend"), (3, "unknown")])
async def test_kill_9_mid_broadcast_then_restart(
    server: FakeTelegramServer,
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    seed: int,
    policy: str,
) -> None:
    fake = server.fake
    fake.flood.configure(enabled=True, time_scale=SCALE)
    with Session(engine) as session:
        make_article(session)
    chats = users(fake, engine, CHATS)
    assert plan(engine) == CHATS
    kill_after = random.Random(seed).randint(5, CHATS - 40)

    env = {**os.environ, "PYTHONPATH": PROJECT_ROOT}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SENDER,
        str(engine.url),
        server.base_url,
        fake.token,
        str(SCALE),
        str(SAFETY),
        env=env,
        cwd=tmp_path,
    )
    killed = False
    try:
        reached = asyncio.ensure_future(
            fake.wait_for(lambda: len(fake.requests_for("sendMessage")) >= kill_after, timeout=30)
        )
        exited = asyncio.ensure_future(proc.wait())
        await asyncio.wait({reached, exited}, return_when=asyncio.FIRST_COMPLETED)
        assert not exited.done(), "the sender process died on its own"
        proc.send_signal(signal.SIGKILL)
        killed = True
        await reached
    finally:
        # Signal at most once. After the SIGKILL, `returncode` stays None until asyncio's child
        # watcher thread has reaped the child; a second kill() polls (waitpid) and may reap it
        # first, and the watcher then reports the lost child as 255.
        if not killed and proc.returncode is None:
            proc.kill()
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with Session(engine) as session:
        states = Counter(d.state for d in session.scalars(select(Delivery)))
    in_flight = states["sending"]
    # Rows are marked sending only once the limiter granted their slot: at most one per worker.
    assert in_flight <= DeliveryOptions().workers
    assert states["sent"] + in_flight + states["pending"] == CHATS
    assert states["pending"] > 0, "the kill must land mid-broadcast"

    assert fake.flood.rejections == []
    # A real restart takes longer than Telegram's one-second window; the new process's limiter
    # cannot know what the killed one sent in its last second, so start the fake's count anew.
    fake.flood.reset()
    # The dead sender's leases run out; until then its rows are left alone (a live sender's
    # would be renewed).
    await asyncio.sleep(LEASE + 0.1)
    bot = await make_bot(server, RateLimits(time_scale=SCALE, safety=SAFETY))
    try:
        restarted = Broadcaster(
            bot=bot,
            engine=engine,
            settings=settings,
            options=DeliveryOptions(flush_interval=0.05, sending_policy=policy),  # type: ignore[arg-type]
        )
        assert restarted.recover() == in_flight
        await restarted.run_pass()
    finally:
        await bot.shutdown()

    received = Counter({c: len(fake.bot_messages(c)) for c in chats})
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    lost = [c for c, n in received.items() if n == 0]
    with Session(engine) as session:
        final = Counter(d.state for d in session.scalars(select(Delivery)))
    if policy == "resend":
        assert lost == []
        assert duplicates <= in_flight
        assert final == Counter({"sent": CHATS})
    else:
        assert duplicates == 0
        assert len(lost) <= in_flight
        assert final["unknown"] == in_flight
        assert final["sent"] == CHATS - in_flight
    assert fake.flood.rejections == []
