"""Webhook delivery: pushed in order, retried, given up, loopback only."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import (
    Bot,
)
from telegram.error import (
    BadRequest,
    Conflict,
)

from bot.emulator import (
    FakeTelegram,
    FakeTelegramServer,
)
from tests.bot.emulator.support import TOKEN, make_bot

pytestmark = pytest.mark.asyncio


class _Receiver:
    """A webhook endpoint on loopback: records every POST, answers with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])  # answered in turn, then 200
        self.requests: list[tuple[dict[str, object], dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.gate: asyncio.Event | None = None  # when set up, the first POST waits for it
        self.arrived = asyncio.Event()  # set on the first POST
        self.server: tornado.httpserver.HTTPServer | None = None
        self.port = 0

    def url(self, path: str = "hook") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def __aenter__(self) -> _Receiver:
        receiver = self

        class Handler(tornado.web.RequestHandler):
            async def post(self) -> None:
                receiver.in_flight += 1
                receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                receiver.arrived.set()
                try:
                    if receiver.gate is not None and not receiver.requests:
                        receiver.requests.append((json.loads(self.request.body), {}))
                        await receiver.gate.wait()
                        receiver.requests.pop()
                    headers = {k.lower(): v for k, v in self.request.headers.items()}
                    receiver.requests.append((json.loads(self.request.body), headers))
                    self.set_status(receiver.statuses.pop(0) if receiver.statuses else 200)
                    self.finish()
                finally:
                    receiver.in_flight -= 1

        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        self.port = sockets[0].getsockname()[1]
        self.server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/hook", Handler)]))
        self.server.add_sockets(sockets)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.stop()
        await self.server.close_all_connections()

    def update_ids(self) -> list[int]:
        return [int(str(body["update_id"])) for body, _ in self.requests]


@asynccontextmanager
async def _hooked(
    **options: object,
) -> AsyncIterator[tuple[FakeTelegram, Bot]]:
    fake = FakeTelegram(TOKEN, **options)  # type: ignore[arg-type]
    async with FakeTelegramServer(fake) as srv, make_bot(srv) as client:
        yield fake, client


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_pushes_updates_in_order_one_at_a_time_with_the_secret() -> None:
    async with _Receiver() as receiver, _hooked() as (fake, bot):
        assert await bot.set_webhook(receiver.url(), secret_token="s3cret_-X")
        info = await bot.get_webhook_info()
        assert info.url == receiver.url() and info.pending_update_count == 0

        # The first POST is held: the next updates wait behind it, still pending.
        receiver.gate = asyncio.Event()
        ann = fake.create_user("Ann")
        await fake.send_text(ann, ann, "one")
        await asyncio.wait_for(receiver.arrived.wait(), 5)
        await fake.send_text(ann, ann, "two")
        await fake.send_text(ann, ann, "three")
        assert (await bot.get_webhook_info()).pending_update_count == 3
        receiver.gate.set()
        await fake.wait_for(lambda: not fake.pending_updates)

        texts = [body["message"]["text"] for body, _ in receiver.requests]  # type: ignore[index]
        assert texts == ["one", "two", "three"]
        assert receiver.update_ids() == sorted(receiver.update_ids())
        assert receiver.max_in_flight == 1
        for _, headers in receiver.requests:
            assert headers["x-telegram-bot-api-secret-token"] == "s3cret_-X"
            assert headers["content-type"].startswith("application/json")
        assert all(a.delivered for a in fake.webhook_attempts)
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0 and info.last_error_message is None


async def test_webhook_without_secret_sends_no_secret_header() -> None:
    async with _Receiver() as receiver, _hooked() as (fake, bot):
        await bot.set_webhook(receiver.url())
        ann = fake.create_user("Ann")
        await fake.send_text(ann, ann, "hi")
        await fake.wait_for(lambda: not fake.pending_updates)
        assert "x-telegram-bot-api-secret-token" not in receiver.requests[0][1]


async def test_webhook_retries_a_failed_post_with_backoff_keeping_order() -> None:
    async with (
        _Receiver(statuses=[500, 502]) as receiver,
        _hooked(webhook_retry_delay=0.02) as (fake, bot),
    ):
        await bot.set_webhook(receiver.url(), secret_token="s")
        ann = fake.create_user("Ann")
        await fake.send_text(ann, ann, "first")
        await fake.send_text(ann, ann, "second")
        await fake.wait_for(lambda: not fake.pending_updates)

        first, second = (u["update_id"] for u in fake.updates_log)
        assert receiver.update_ids() == [first, first, first, second]
        attempts = fake.webhook_attempts
        assert [(a.update_id, a.attempt, a.status) for a in attempts] == [
            (first, 1, 500),
            (first, 2, 502),
            (first, 3, 200),
            (second, 1, 200),
        ]
        # Doubling backoff between attempts of one update.
        assert (attempts[1].at - attempts[0].at).total_seconds() >= 0.02
        assert (attempts[2].at - attempts[1].at).total_seconds() >= 0.04
        assert receiver.max_in_flight == 1
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0
        assert info.last_error_message == "Wrong response from the webhook: 502 Bad Gateway"
        assert info.last_error_date is not None
        assert not fake.webhook_dropped


async def test_webhook_gives_up_after_bounded_attempts_then_delivers_the_next() -> None:
    async with (
        _Receiver(statuses=[503, 503, 503]) as receiver,
        _hooked(webhook_max_attempts=3, webhook_retry_delay=0.01) as (fake, bot),
    ):
        await bot.set_webhook(receiver.url())
        ann = fake.create_user("Ann")
        await fake.send_text(ann, ann, "lost")
        await fake.send_text(ann, ann, "delivered")
        await fake.wait_for(lambda: not fake.pending_updates)
        lost, delivered = (u["update_id"] for u in fake.updates_log)
        assert receiver.update_ids() == [lost, lost, lost, delivered]
        assert [u["update_id"] for u in fake.webhook_dropped] == [lost]
        info = await bot.get_webhook_info()
        assert info.last_error_message == "Wrong response from the webhook: 503 Service Unavailable"


async def test_webhook_nobody_listening_is_reported_and_the_update_stays_pending() -> None:
    async with _hooked(webhook_max_attempts=100, webhook_retry_delay=0.01) as (fake, bot):
        url = f"http://127.0.0.1:{_free_port()}/hook"
        await bot.set_webhook(url)
        ann = fake.create_user("Ann")
        await fake.send_text(ann, ann, "anyone?")
        await fake.wait_for(lambda: len(fake.webhook_attempts) >= 2)
        info = await bot.get_webhook_info()
        assert info.url == url
        assert info.pending_update_count == 1
        assert info.last_error_message == "Connection refused"
        # Deleting the webhook hands the undelivered update to getUpdates.
        assert await bot.delete_webhook()
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates if u.message] == ["anyone?"]
        info = await bot.get_webhook_info()
        assert info.url == "" and info.last_error_message is None


async def test_get_updates_conflicts_while_a_webhook_is_set_and_delete_webhook_queues_again() -> (
    None
):
    async with _Receiver() as receiver, _hooked() as (fake, bot):
        await bot.set_webhook(receiver.url())
        with pytest.raises(Conflict) as conflict:
            await bot.get_updates(timeout=0)
        assert str(conflict.value) == (
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
            "to delete the webhook first"
        )
        async with httpx.AsyncClient(trust_env=False) as client:
            raw = await client.post(f"{bot.base_url}/getUpdates", timeout=5)
        assert raw.status_code == 409 and raw.json()["error_code"] == 409

        ann = fake.create_user("Ann")
        await fake.send_text(ann, ann, "pushed")
        await fake.wait_for(lambda: not fake.pending_updates)
        await bot.delete_webhook()
        await fake.send_text(ann, ann, "queued")
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates if u.message] == ["queued"]
        assert len(receiver.requests) == 1
        assert (await bot.get_webhook_info()).url == ""


async def test_set_webhook_accepts_only_loopback_urls_unless_allowed() -> None:
    async with _hooked() as (fake, bot):
        for url in (
            "https://example.com/hook",
            "https://10.0.0.1/hook",
            "https://[2001:db8::1]:8443/hook",
        ):
            with pytest.raises(
                BadRequest, match=r"(?i)bad webhook: the emulator only delivers to "
            ):
                await bot.set_webhook(url)
        with pytest.raises(BadRequest, match=r"(?i)bad webhook: An HTTPS URL must be provided"):
            await bot.set_webhook("ftp://127.0.0.1/hook")
        with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
            await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="no spaces")
        with pytest.raises(BadRequest, match=r"(?i)secret token is too long"):
            await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="x" * 257)
        assert fake.webhook_url == ""
        async with httpx.AsyncClient(trust_env=False) as client:
            raw = await client.post(
                f"{bot.base_url}/setWebhook", json={"url": "https://example.com/hook"}, timeout=5
            )
        assert raw.status_code == 400
        assert raw.json()["description"].startswith("Bad Request: bad webhook: ")

    async with _hooked(allow_non_loopback_webhooks=True) as (fake, bot):
        assert await bot.set_webhook("https://example.com/hook", secret_token="x" * 256)
        assert fake.webhook_url == "https://example.com/hook"
        with pytest.raises(BadRequest, match=r"(?i)an https url must be provided"):
            await bot.set_webhook("http://example.com/hook")
        # Nothing is pushed without updates: no request leaves for example.com.
        assert fake.webhook_attempts == []
        await bot.delete_webhook()
