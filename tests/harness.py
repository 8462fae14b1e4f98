"""End-to-end harness: the real PTB Application, long polling a fake Bot API over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from bot.app import BotApplication, build_application
from bot.config import Settings
from bot.context import Deps
from bot.emulator import (
    CallbackQueryRecord,
    FakeChat,
    FakeMessage,
    FakeTelegram,
    FakeTelegramServer,
    FakeUser,
)

# The sample articles were published up to 2026-11-25T01:00Z; the clock stands just after.
SAMPLE_NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


class Clock:
    """A settable clock the bot reads through Deps, so relative times are deterministic."""

    def __init__(self, now: datetime = SAMPLE_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Harness:
    fake: FakeTelegram
    app: BotApplication
    deps: Deps
    clock: Clock

    async def command(self, chat: FakeChat | FakeUser, user: FakeUser, text: str) -> FakeMessage:
        """Send ``text`` as ``user`` and return the bot's next message in that chat."""
        await self.fake.send_text(chat, user, text)
        return await self.fake.next_bot_message(chat, timeout=10)

    async def press(
        self, chat: FakeChat | FakeUser, user: FakeUser, message: FakeMessage, text: str
    ) -> CallbackQueryRecord:
        """Press the button labelled ``text`` and wait until the bot answered the query."""
        data = message.button(text)["callback_data"]
        query_id = await self.fake.press_button(chat, message.message_id, data, user)
        return await self.fake.wait_for_callback_answer(query_id, timeout=10)


@asynccontextmanager
async def running_bot(
    settings: Settings, engine: Engine, fake: FakeTelegram | None = None, clock: Clock | None = None
) -> AsyncIterator[Harness]:
    fake = fake or FakeTelegram()
    clock = clock or Clock()
    async with FakeTelegramServer(fake) as server:
        app = build_application(
            settings,
            engine,
            token=fake.token,
            base_url=server.base_url,
            base_file_url=server.base_file_url,
            clock=clock,
        )
        deps = app.bot_data["deps"]
        assert isinstance(deps, Deps)
        await app.initialize()
        if app.post_init is not None:  # run_polling would call it; we drive the steps by hand
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield Harness(fake=fake, app=app, deps=deps, clock=clock)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
