"""Sandbox mode: the real bot against the built-in Telegram emulator, with a web chat.

``digestbot run`` without ``TELEGRAM_BOT_TOKEN`` starts, in one process and one asyncio loop:

* the emulator (``bot.emulator``) serving the Bot API on 127.0.0.1,
* the real ``Application`` long-polling it (the same one the real bot runs),
* the web chat (``bot/sandbox/static``) and its JSON API / event stream on the same server.

Sample articles are imported on first start (empty database), their dates shifted so the newest
one is an hour old: ``/top`` and the digest show something on any day.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import logging
import signal
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy.engine import Engine
from telegram import Update

from bot.app import BotApplication, build_application
from bot.catalog import chats
from bot.catalog.samples import SAMPLE_ARTICLES
from bot.config import Settings
from bot.content.formats import read_stream
from bot.content.importer import ImportCounts, import_records
from bot.content.records import RawRecord
from bot.context import Deps
from bot.delivery.planner import SERVICE_KEY, DeliveryService
from bot.emulator import FakeChat, FakeTelegram, FakeTelegramServer, FakeUser
from bot.rules import is_loopback_host
from bot.sandbox.web import web_handlers
from storage import chats as chat_store
from storage import outbox
from storage.articles import count_articles
from storage.db import session_scope

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
SANDBOX_TOKEN = "7000000001:SANDBOX-local-emulator-token"
SANDBOX_BOT_USERNAME = "digest_sandbox_bot"
# The newest sample article is this old right after the import.
SAMPLE_AGE = timedelta(hours=1)
_SHIFTED_FIELDS = ("published_at", "updated_at")


class SandboxError(Exception):
    """The sandbox cannot start as configured; the message says why and what to change."""


@dataclasses.dataclass(frozen=True)
class SandboxOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    allow_remote: bool = False
    samples: Path | None = SAMPLE_ARTICLES

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxOptions:
        """``DIGESTBOT_SANDBOX_HOST`` / ``_PORT`` / ``_ALLOW_REMOTE``."""
        return cls(
            host=settings.sandbox_host,
            port=settings.sandbox_port,
            allow_remote=settings.sandbox_allow_remote,
        )

    def check(self) -> None:
        if not is_loopback_host(self.host) and not self.allow_remote:
            raise SandboxError(
                f"refusing to serve the sandbox on {self.host!r}: it has no authentication and "
                "listens on 127.0.0.1 only; set DIGESTBOT_SANDBOX_ALLOW_REMOTE=true as well to "
                "expose it on another interface"
            )


# --- sample articles ------------------------------------------------------------------------


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def shift_records(records: Iterable[RawRecord], newest: datetime) -> list[RawRecord]:
    """Move every record's dates by one offset so the newest ``published_at`` is ``newest``
    (relative spacing preserved); records without parseable dates pass unchanged."""
    records = list(records)
    stamps = [
        stamp
        for record in records
        if isinstance(record.value, dict)
        and (stamp := _parse_time(record.value.get("published_at"))) is not None
    ]
    if not stamps:
        return records
    delta = newest - max(stamps)
    shifted: list[RawRecord] = []
    for record in records:
        if not isinstance(record.value, dict):
            shifted.append(record)
            continue
        value = dict(record.value)
        for name in _SHIFTED_FIELDS:
            stamp = _parse_time(value.get(name))
            if stamp is not None:
                value[name] = (stamp + delta).isoformat()
        shifted.append(dataclasses.replace(record, value=value))
    return shifted


def load_samples(engine: Engine, path: Path, *, now: datetime, err: IO[str]) -> ImportCounts | None:
    """Import the sample articles when the database has none; None when it already has some."""
    with session_scope(engine) as session:
        if count_articles(session=session):
            return None
    with path.open("rb") as stream:
        records = list(read_stream(stream, str(path), now=now, jsonl=True))
    counts = ImportCounts()
    import_records(
        engine, shift_records(records, now - SAMPLE_AGE), now=now, err=err, counts=counts
    )
    return counts


# --- the sandbox ----------------------------------------------------------------------------


class Sandbox:
    """Emulator + real bot + web chat; ``async with Sandbox(settings, engine) as sandbox``."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        options: SandboxOptions | None = None,
        *,
        fake: FakeTelegram | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.options = options or SandboxOptions.from_settings(settings)
        self.options.check()
        self.fake = fake or FakeTelegram(
            SANDBOX_TOKEN, bot_username=SANDBOX_BOT_USERNAME, bot_first_name="Digest Bot"
        )
        self.server = FakeTelegramServer(
            self.fake,
            host=self.options.host,
            port=self.options.port,
            allow_non_loopback=self.options.allow_remote,
            extra_handlers=web_handlers(self),
        )
        self.application: BotApplication | None = None
        self.samples: ImportCounts | None = None
        self.closing = asyncio.Event()

    @property
    def url(self) -> str:
        return self.server.url + "/"

    async def start(self, *, err: IO[str] | None = None) -> Sandbox:
        if self.options.samples is not None and self.options.samples.exists():
            self.samples = await asyncio.to_thread(
                load_samples,
                self.engine,
                self.options.samples,
                now=datetime.now(UTC),
                err=err or io.StringIO(),
            )
        try:
            await self.server.start()
        except OSError as exc:
            raise SandboxError(
                f"cannot listen on {self.options.host}:{self.options.port} ({exc.strerror}); "
                "set DIGESTBOT_SANDBOX_PORT to a free port"
            ) from None
        if not self.fake.users:
            self.fake.create_user("Alex", language_code="en")
        application = build_application(
            self.settings,
            self.engine,
            token=self.fake.token,
            base_url=self.server.base_url,
            base_file_url=self.server.base_file_url,
        )
        self.application = application
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0, timeout=2, allowed_updates=Update.ALL_TYPES
        )
        return self

    async def stop(self) -> None:
        self.closing.set()  # ends the web chat's event streams
        application, self.application = self.application, None
        if application is not None:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()
        await self.server.stop()

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- actions behind the web chat ------------------------------------------------------

    def user(self, user_id: int) -> FakeUser:
        user = self.fake.users.get(user_id)
        if user is None:
            raise LookupError(f"no user {user_id}")
        return user

    def chat(self, chat_id: int) -> FakeChat:
        chat = self.fake.chats.get(chat_id)
        if chat is None:
            raise LookupError(f"no chat {chat_id}")
        return chat

    def _subscribe(self, deps: Deps, chat: FakeChat, user: FakeUser) -> bool:
        """Subscribe the chat as ``user`` would with /subscribe; in groups only admins may."""
        if chat.is_group and chat.members.get(user.id) not in ("creator", "administrator"):
            return False
        language = chats.resolve_chat(
            deps,
            chat_id=chat.id,
            chat_type=chat.type,
            title=chat.title,
            user_language_code=user.language_code,
        )
        current = chats.chat_settings(deps, chat_id=chat.id, language=language)
        if current is None or not current.subscribed:
            chats.set_subscribed(deps, chat_id=chat.id, language=language, subscribed=True)
        return True

    def _make_due(self, deps: Deps, chat_id: int, now: datetime) -> int:
        """Make the chat due now; how many outbox rows it had before."""
        with session_scope(deps.engine) as session:
            chat_store.update_chat(session=session, chat_id=chat_id, next_digest_at=now)
            return outbox.count_chat_deliveries(session=session, chat_id=chat_id)

    def _rows_of(self, deps: Deps, chat_id: int) -> int:
        with session_scope(deps.engine) as session:
            return outbox.count_chat_deliveries(session=session, chat_id=chat_id)

    async def deliver_now(self, chat_id: int, user_id: int) -> dict[str, Any]:
        """ "Deliver today's digest now" through the real planner and outbox: subscribe the
        chat as ``user`` (admins only in groups), make it due, run one planner pass."""
        chat, user = self.chat(chat_id), self.user(user_id)
        assert self.application is not None
        deps = self.application.bot_data["deps"]
        service = self.application.bot_data[SERVICE_KEY]
        assert isinstance(deps, Deps) and isinstance(service, DeliveryService)
        if not await asyncio.to_thread(self._subscribe, deps, chat, user):
            return {"mode": "planner", "planned": 0, "detail": "not_subscribed"}
        now = deps.clock()
        before = await asyncio.to_thread(self._make_due, deps, chat_id, now)
        await service.tick(now)
        # Counted, not taken from this pass: the start-up pass may have planned the chat first.
        planned = await asyncio.to_thread(self._rows_of, deps, chat_id) - before
        return {
            "mode": "planner",
            "planned": planned,
            "detail": "planned" if planned else "already_delivered_today",
        }


# --- running from the command line ---------------------------------------------------------


def banner(url: str) -> str:
    return (
        f"digestbot: sandbox mode (no TELEGRAM_BOT_TOKEN) — open {url} to chat with the bot "
        "(Ctrl+C to stop)"
    )


@contextlib.contextmanager
def _stop_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> Iterator[None]:
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def serve(
    settings: Settings,
    engine: Engine,
    *,
    out: IO[str],
    err: IO[str],
    options: SandboxOptions | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Run the sandbox until SIGINT/SIGTERM (or ``stop`` is set); 2 when it cannot start."""
    try:
        sandbox = Sandbox(settings, engine, options)
    except SandboxError as exc:
        err.write(f"digestbot: {exc}\n")
        return 2
    stop = stop or asyncio.Event()
    with _stop_signals(asyncio.get_running_loop(), stop):
        try:
            # Bind first: the banner line must not point at a port we could not get.
            await sandbox.server.start()
        except OSError as exc:
            err.write(
                f"digestbot: cannot listen on {sandbox.options.host}:{sandbox.options.port} "
                f"({exc.strerror}); set DIGESTBOT_SANDBOX_PORT to a free port\n"
            )
            return 2
        out.write(banner(sandbox.url) + "\n")
        out.flush()
        try:
            await sandbox.start(err=err)
            if sandbox.samples is not None:
                out.write(f"digestbot: sample articles loaded: {sandbox.samples.summary()}\n")
                out.flush()
            await stop.wait()
        finally:
            await sandbox.stop()
    return 0


def run_sandbox(settings: Settings, engine: Engine, *, out: IO[str], err: IO[str]) -> int:
    """``digestbot run`` without a token."""
    return asyncio.run(serve(settings, engine, out=out, err=err))
