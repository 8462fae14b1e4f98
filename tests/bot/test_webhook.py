"""Webhook mode: the real Application behind PTB's webhook server, fed by the emulator's pushes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from telegram import Update
from telegram.error import Conflict

from bot.app import BotApplication, build_application
from bot.cli import main
from bot.config import ConfigError, Settings, load_settings
from bot.emulator import FakeTelegram, FakeTelegramServer
from bot.runner import run_bot, serve
from storage.instances import InstanceRow, instances
from storage.models import Chat

SECRET = "right-Secret_123"
PATH = "telegram/webhook"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WebhookBot:
    fake: FakeTelegram
    app: BotApplication
    url: str


@asynccontextmanager
async def webhook_bot(settings: Settings, engine: Engine) -> AsyncIterator[WebhookBot]:
    """The bot in webhook mode on loopback; the emulator pushes to it (fast retries)."""
    fake = FakeTelegram(webhook_max_attempts=3, webhook_retry_delay=0.01)
    async with FakeTelegramServer(fake) as server:
        app = build_application(
            settings,
            engine,
            token=fake.token,
            base_url=server.base_url,
            base_file_url=server.base_file_url,
        )
        port = _free_port()
        url = f"http://127.0.0.1:{port}/{PATH}"
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path=PATH,
            webhook_url=url,
            secret_token=SECRET,
            allowed_updates=Update.ALL_TYPES,
        )
        try:
            yield WebhookBot(fake=fake, app=app, url=url)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()


async def test_start_and_a_button_work_over_the_webhook(settings: Settings, engine: Engine) -> None:
    async with webhook_bot(settings, engine) as bot:
        info = await bot.app.bot.get_webhook_info()
        assert info.url == bot.url
        assert "callback_query" in (info.allowed_updates or ())

        ann = bot.fake.create_user("Ann", language_code="en")
        await bot.fake.start_bot(ann)
        welcome = await bot.fake.next_bot_message(ann, timeout=10)
        assert "Hi, Ann!" in (welcome.text or "")

        label = next(b["text"] for b in welcome.buttons if "Subscribe" in b["text"])
        data = welcome.button(label)["callback_data"]
        query_id = await bot.fake.press_button(ann, welcome.message_id, data, ann)
        await bot.fake.wait_for_callback_answer(query_id, timeout=10)
        with Session(engine) as session:
            chat = session.get(Chat, ann.id)
        assert chat is not None and chat.subscribed

        # Both updates went by webhook (with the secret), none was left for getUpdates.
        attempts = bot.fake.webhook_attempts
        assert [a.delivered for a in attempts] == [True, True]
        assert all(a.url == bot.url for a in attempts)
        assert bot.fake.pending_updates == []
        assert not bot.fake.requests_for("getUpdates")
        assert (await bot.app.bot.get_webhook_info()).last_error_message is None


async def test_a_wrong_secret_is_rejected_and_reported(settings: Settings, engine: Engine) -> None:
    async with webhook_bot(settings, engine) as bot:
        # Telegram (the emulator) now sends another secret than the bot expects.
        response = await bot.fake.call_api(
            "setWebhook", {"url": bot.url, "secret_token": "some-other-secret"}
        )
        assert response.status == 200
        ann = bot.fake.create_user("Ann")
        await bot.fake.start_bot(ann)
        await bot.fake.wait_for(lambda: bot.fake.webhook_dropped, timeout=10)

        assert [a.status for a in bot.fake.webhook_attempts] == [403, 403, 403]
        assert bot.fake.bot_messages(ann) == []  # PTB never handed the update to a handler
        info = await bot.app.bot.get_webhook_info()
        assert info.last_error_message == (
            "Wrong response from the webhook: 403 Request had the wrong secret token"
        )
        assert info.pending_update_count == 0

        # No secret at all is refused too.
        await bot.fake.call_api("setWebhook", {"url": bot.url})
        await bot.fake.start_bot(ann)
        await bot.fake.wait_for(lambda: len(bot.fake.webhook_dropped) == 2, timeout=10)
        info = await bot.app.bot.get_webhook_info()
        assert info.last_error_message == (
            "Wrong response from the webhook: 403 Request did not include the secret token"
        )
        assert bot.fake.bot_messages(ann) == []

        # With the right secret again, the next /start is answered.
        await bot.fake.call_api("setWebhook", {"url": bot.url, "secret_token": SECRET})
        await bot.fake.start_bot(ann)
        welcome = await bot.fake.next_bot_message(ann, timeout=10)
        assert "Hi, Ann!" in (welcome.text or "")


async def test_get_updates_conflicts_while_the_webhook_is_set(
    settings: Settings, engine: Engine
) -> None:
    async with webhook_bot(settings, engine) as bot:
        with pytest.raises(Conflict, match="while webhook is active"):
            await bot.app.bot.get_updates(timeout=0)
        ann = bot.fake.create_user("Ann")
        await bot.fake.start_bot(ann)
        assert "Hi, Ann!" in ((await bot.fake.next_bot_message(ann, timeout=10)).text or "")


# --------------------------------------------------------------------------- settings


def _webhook_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_webhook_settings_default_to_long_polling(settings: Settings) -> None:
    assert settings.webhook_url == ""
    assert (settings.webhook_listen, settings.webhook_port) == ("127.0.0.1", 8443)
    assert settings.webhook_secret is None


def test_webhook_settings_are_read_and_the_path_comes_from_the_url(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _webhook_env(
        monkeypatch,
        DIGESTBOT_WEBHOOK_URL="https://bot.example.com/tg/hook",
        DIGESTBOT_WEBHOOK_LISTEN="0.0.0.0",
        DIGESTBOT_WEBHOOK_PORT="9000",
        DIGESTBOT_WEBHOOK_SECRET="A-z_09",
    )
    loaded = load_settings()
    assert loaded.webhook_url == "https://bot.example.com/tg/hook"
    assert loaded.webhook_path == "tg/hook"
    assert (loaded.webhook_listen, loaded.webhook_port) == ("0.0.0.0", 9000)
    assert loaded.webhook_secret_token == "A-z_09"
    assert "A-z_09" not in repr(loaded)  # a SecretStr


def test_webhook_url_without_secret_is_one_clear_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _webhook_env(monkeypatch, DIGESTBOT_WEBHOOK_URL="https://bot.example.com/hook")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith("DIGESTBOT_WEBHOOK_SECRET: required when ")
    # An empty line in .env counts as unset.
    monkeypatch.setenv("DIGESTBOT_WEBHOOK_SECRET", "")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "DIGESTBOT_WEBHOOK_SECRET" in err and "DIGESTBOT_WEBHOOK_URL" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("values", "name", "expected"),
    [
        ({"DIGESTBOT_WEBHOOK_SECRET": "has space"}, "DIGESTBOT_WEBHOOK_SECRET", "1-256"),
        ({"DIGESTBOT_WEBHOOK_SECRET": "x" * 257}, "DIGESTBOT_WEBHOOK_SECRET", "1-256"),
        (
            {"DIGESTBOT_WEBHOOK_URL": "http://bot.example.com/hook"},
            "DIGESTBOT_WEBHOOK_URL",
            "https",
        ),
        ({"DIGESTBOT_WEBHOOK_URL": "bot.example.com/hook"}, "DIGESTBOT_WEBHOOK_URL", "https"),
        ({"DIGESTBOT_WEBHOOK_PORT": "0"}, "DIGESTBOT_WEBHOOK_PORT", "greater than or equal to 1"),
        ({"DIGESTBOT_WEBHOOK_PORT": "70000"}, "DIGESTBOT_WEBHOOK_PORT", "65535"),
    ],
)
def test_bad_webhook_settings_name_the_variable(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    values: dict[str, str],
    name: str,
    expected: str,
) -> None:
    _webhook_env(monkeypatch, **{"DIGESTBOT_WEBHOOK_SECRET": "fine", **values})
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith(f"{name}: ")
    assert expected in str(error.value)


def test_plain_http_webhook_only_with_a_self_hosted_bot_api(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _webhook_env(
        monkeypatch,
        DIGESTBOT_WEBHOOK_URL="http://10.0.0.5:8443/hook",
        DIGESTBOT_WEBHOOK_SECRET="s",
        TELEGRAM_API_BASE_URL="http://bot-api.internal:8081/bot",
    )
    assert load_settings().webhook_path == "hook"


# --------------------------------------------------------------------------- run_bot and the CLI


def _capture(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    calls: dict[str, Any] = {}

    async def serve(app: BotApplication, engine: Engine, settings: Settings) -> None:
        calls["serve"] = settings

    monkeypatch.setattr("bot.runner.serve", serve)
    return calls


TOKEN = "123:abc"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramServer]:
    """run_bot checks the token with getMe first: the emulator answers it for TOKEN."""
    async with FakeTelegramServer(FakeTelegram(TOKEN)) as server:
        yield server


@asynccontextmanager
async def served(settings: Settings, engine: Engine, **env: str) -> AsyncIterator[WebhookBot]:
    """``serve`` (what ``run_bot`` runs) against the emulator until the block ends."""
    fake = FakeTelegram(webhook_max_attempts=3, webhook_retry_delay=0.01)
    async with FakeTelegramServer(fake) as server:
        configured = load_settings(
            DATABASE_URL=settings.database_url,
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE_URL=server.base_url,
            DIGESTBOT_HEARTBEAT_INTERVAL="0.2",
            DIGESTBOT_RATE_TIME_SCALE="20",
            **env,
        )
        app = build_application(configured, engine, base_url=server.base_url)
        stop = asyncio.Event()
        task = asyncio.create_task(serve(app, engine, configured, stop=stop))
        try:
            yield WebhookBot(fake=fake, app=app, url=configured.webhook_url)
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)


def _instances(engine: Engine) -> list[InstanceRow]:
    with Session(engine) as session:
        return instances(session=session)


async def test_serve_runs_a_webhook_when_the_url_is_set(settings: Settings, engine: Engine) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    async with served(
        settings,
        engine,
        DIGESTBOT_WEBHOOK_URL=url,
        DIGESTBOT_WEBHOOK_SECRET=SECRET,
        DIGESTBOT_WEBHOOK_PORT=str(port),
    ) as bot:
        await bot.fake.wait_for(lambda: bot.fake.webhook_url == url, timeout=10)
        ann = bot.fake.create_user("Ann", language_code="en")
        await bot.fake.start_bot(ann)
        welcome = await bot.fake.next_bot_message(ann, timeout=10)
        assert "Hi, Ann!" in (welcome.text or "")
        await bot.fake.wait_for(lambda: _instances(engine)[0].roles != (), timeout=10)
        [me] = _instances(engine)
        assert me.mode == "webhook" and me.roles == ("webhook", "sender")
        assert not bot.fake.requests_for("getUpdates")
        assert [a.delivered for a in bot.fake.webhook_attempts] == [True]
    assert _instances(engine) == []  # a clean stop unregisters


async def test_serve_long_polls_without_a_url(settings: Settings, engine: Engine) -> None:
    async with served(settings, engine) as bot:
        ann = bot.fake.create_user("Ann", language_code="en")
        await bot.fake.start_bot(ann)
        welcome = await bot.fake.next_bot_message(ann, timeout=10)
        assert "Hi, Ann!" in (welcome.text or "")
        # Roles are recorded by the heartbeat after the election, not before the first answer
        # (as in the webhook test above): wait for them instead of racing the heartbeat.
        await bot.fake.wait_for(lambda: _instances(engine)[0].roles != (), timeout=10)
        [me] = _instances(engine)
        assert me.mode == "polling" and me.roles == ("poller", "sender")
        assert bot.fake.requests_for("getUpdates")
    assert _instances(engine) == []


async def test_run_bot_checks_the_token_then_hands_the_application_to_serve(
    settings: Settings,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    telegram: FakeTelegramServer,
) -> None:
    calls = _capture(monkeypatch)
    configured = load_settings(
        DATABASE_URL=settings.database_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=telegram.base_url,
    )
    assert await asyncio.to_thread(run_bot, engine, configured) == 0
    assert calls == {"serve": configured}
    assert telegram.fake.requests_for("getMe")


@pytest.mark.parametrize(
    ("webhook_url", "expected"),
    [
        ("", "long polling"),
        ("https://bot.example.com/hook", "webhook at https://bot.example.com/hook"),
    ],
)
async def test_cli_first_line_says_polling_or_webhook(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    telegram: FakeTelegramServer,
    webhook_url: str,
    expected: str,
) -> None:
    _capture(monkeypatch)
    _webhook_env(
        monkeypatch,
        DATABASE_URL=settings.database_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        DIGESTBOT_WEBHOOK_URL=webhook_url,
        DIGESTBOT_WEBHOOK_SECRET=SECRET,
    )
    assert await asyncio.to_thread(main, ["run"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("digestbot: bot mode") and expected in first
    assert SECRET not in first
