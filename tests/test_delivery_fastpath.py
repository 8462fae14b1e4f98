"""The broadcast fast path: lean Bot API client, PTB-equivalent errors, batched outbox writes."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.ext import ExtBot
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.config import Settings
from bot.delivery import (
    BotApiClient,
    Broadcaster,
    DeliveryOptions,
    _MaybeSent,
    _NotSent,
    api_error,
    fast_client_for,
)
from storage.models import Chat, DeliveredArticle
from storage.outbox import insert_delivered
from tests.bot.test_delivery import articles, make_bot, plan, sent_counts, users
from tests.factories import make_article
from tests.fake_telegram import FakeTelegram, FakeTelegramServer

__all__ = ["articles"]  # the fixture, shared with tests/bot/test_delivery.py

pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)


class _Canned(BaseRequest):
    """A PTB request answering every call with one (status, body): PTB's own error mapping."""

    def __init__(self, code: int, payload: bytes) -> None:
        self.answer = (code, payload)

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        return self.answer


ANSWERS = [
    (403, b'{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}'),
    (400, b'{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}'),
    (
        400,
        b'{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded",'
        b'"parameters":{"migrate_to_chat_id":-1001234}}',
    ),
    (429, b'{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":'),
    (
        429,
        b'{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3",'
        b'"parameters":{"retry_after":3}}',
    ),
    (500, b'{"ok":false,"error_code":500,"description":"Internal Server Error"}'),
    (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    (401, b'{"ok":false,"error_code":401,"description":"Unauthorized"}'),
    (409, b'{"ok":false,"error_code":409,"description":"Conflict"}'),
    (418, b'{"ok":false}'),
]


@pytest.mark.parametrize(("code", "payload"), ANSWERS)
async def test_api_errors_are_the_exceptions_ptb_raises(code: int, payload: bytes) -> None:
    with pytest.raises(TelegramError) as ptb:
        await _Canned(code, payload).post("https://example.invalid/botX/sendMessage")
    ours = api_error(code, payload)
    assert type(ours) is type(ptb.value)
    assert ours.message == ptb.value.message
    assert type(ours.__cause__) is type(ptb.value.__cause__)
    for attribute in ("new_chat_id", "retry_after"):
        if hasattr(ptb.value, attribute):
            assert getattr(ours, attribute) == getattr(ptb.value, attribute)


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/botTOKEN"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return head + await reader.readexactly(length)


async def test_client_reads_length_chunked_and_close_delimited_answers(
    raw_server: Callable[[Handler], Awaitable[str]],
) -> None:
    requests: list[bytes] = []
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
        b'{"ok":true}',
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4\r\n{"ok\r\n7;x=1\r\n":true}\r\n0\r\nX-Trailer: 1\r\n\r\n',
        b"HTTP/1.0 502 Bad Gateway\r\n\r\n<html>502</html>",
    ]
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while answers:
                requests.append(await _read_request(reader))
                answer = answers.pop(0)
                writer.write(answer)
                await writer.drain()
                if answer.startswith(b"HTTP/1.0"):
                    break
        finally:
            writer.close()

    client = BotApiClient(await raw_server(handler))
    try:
        assert await client.post("sendMessage", b'{"chat_id":1}') == (200, b'{"ok":true}')
        assert await client.post("sendMessage", b'{"chat_id":2}') == (200, b'{"ok":true}')
        assert await client.post("sendMessage", b'{"chat_id":3}') == (502, b"<html>502</html>")
    finally:
        await client.aclose()
    assert connections == 1  # kept alive across the three
    assert requests[0].startswith(b"POST /botTOKEN/sendMessage HTTP/1.1\r\n")
    assert requests[2].endswith(b'\r\n\r\n{"chat_id":3}')


async def test_client_errors_say_whether_the_request_may_have_arrived(
    raw_server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)  # applied, then the connection drops without an answer
        writer.close()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(1)
        writer.close()

    dropped = BotApiClient(await raw_server(swallow))
    with pytest.raises(NetworkError) as lost:
        await dropped.post("sendMessage", b"{}")
    assert isinstance(lost.value.__cause__, _MaybeSent)
    await dropped.aclose()

    slow = BotApiClient(await raw_server(hang), read_timeout=0.2)
    with pytest.raises(TimedOut) as timed_out:
        await slow.post("sendMessage", b"{}")
    assert isinstance(timed_out.value.__cause__, _MaybeSent)
    await slow.aclose()

    # Nobody listening: refused before anything was sent.
    probe = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    refused = BotApiClient(f"http://127.0.0.1:{port}/botTOKEN")
    with pytest.raises(NetworkError) as not_sent:
        await refused.post("sendMessage", b"{}")
    assert isinstance(not_sent.value.__cause__, _NotSent)
    await refused.aclose()


async def test_fast_path_only_for_a_plain_httpx_request(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    plain: ExtBot[Any] = ExtBot(token="1:x", request=HTTPXRequest(read_timeout=1.5))
    client = fast_client_for(plain)
    assert client is not None and client.read_timeout == 1.5
    proxied: ExtBot[Any] = ExtBot(token="1:x", request=HTTPXRequest(proxy="http://127.0.0.1:3128"))
    assert fast_client_for(proxied) is None

    class _Cached(ExtBot[Any]):
        @property
        def callback_data_cache(self) -> Any:
            return object()  # as with arbitrary_callback_data: PTB rewrites the buttons

    assert fast_client_for(_Cached(token="1:x", request=HTTPXRequest())) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    assert fast_client_for(plain) is None


@pytest.mark.parametrize("fast_path", [True, False])
async def test_both_stacks_deliver_the_same_message(
    engine: Engine, settings: Settings, articles: list[int], fast_path: bool
) -> None:
    async with FakeTelegramServer(FakeTelegram()) as server:
        fake = server.fake
        chats = users(fake, engine, 5)
        plan(engine)
        bot = await make_bot(server)
        assert fast_client_for(bot) is not None  # the suite's bots take the fast path
        try:
            options = DeliveryOptions(backoff_base=0.01, flush_interval=0.05, fast_path=fast_path)
            stats = await Broadcaster(
                bot=bot, engine=engine, settings=settings, options=options
            ).run_pass()
        finally:
            await bot.shutdown()
    assert stats.sent == 5
    assert sent_counts(fake, chats) == Counter({c: 1 for c in chats})
    message = fake.bot_messages(chats[0])[0]
    assert message.text.startswith("📰")
    assert message.reply_markup is not None and "inline_keyboard" in message.reply_markup


def test_insert_delivered_is_one_statement_and_ignores_repeats(any_engine: Engine) -> None:
    now = datetime(2026, 11, 25, 8, tzinfo=UTC)
    with Session(any_engine) as session:
        ids = [make_article(session).id for _ in range(3)]
        session.add(Chat(id=-1001, type="supergroup"))
        session.add(Chat(id=7, type="private"))
        session.commit()
        a, b, c = (int(i) for i in ids if i is not None)
        insert_delivered(session=session, pairs=[(7, a), (7, b), (-1001, a)], now=now)
        insert_delivered(session=session, pairs=[(7, a), (7, c)], now=now)  # (7, a) again
        session.commit()
        rows = session.execute(
            select(DeliveredArticle.chat_id, DeliveredArticle.article_id).order_by(
                DeliveredArticle.chat_id, DeliveredArticle.article_id
            )
        ).all()
        stamps = set(session.scalars(select(DeliveredArticle.delivered_at)))
    assert [tuple(r) for r in rows] == [(-1001, a), (7, a), (7, b), (7, c)]
    assert stamps == {now}
