"""The broadcast fast path: lean Bot API client, PTB-equivalent errors, batched outbox writes."""

from __future__ import annotations

import asyncio
import shlex
import shutil
import ssl
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.ext import ExtBot
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.config import Settings
from bot.delivery.botapi import BotApiClient, api_error, fast_client_for
from bot.delivery.botapi import MaybeSent as _MaybeSent
from bot.delivery.botapi import NotSent as _NotSent
from bot.delivery.broadcaster import Broadcaster
from bot.delivery.options import DeliveryOptions
from bot.emulator import FakeTelegram, FakeTelegramServer
from storage.models import Chat, DeliveredArticle
from storage.outbox import insert_delivered
from tests.bot.delivery.test_delivery import articles, make_bot, plan, sent_counts, users
from tests.factories import make_article

__all__ = ["articles"]  # the fixture, shared with tests/bot/delivery/test_delivery.py

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
Start = Callable[..., Awaitable[str]]


@pytest.fixture
async def raw_server() -> AsyncIterator[Start]:
    """Start a raw TCP (or TLS) server with a handler; its Bot API base URL."""
    servers: list[asyncio.Server] = []
    handlers: set[asyncio.Task[Any]] = set()

    async def start(handler: Handler, tls: ssl.SSLContext | None = None) -> str:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await handler(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}/botTOKEN"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
    for task in handlers:
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)
    await asyncio.sleep(0)  # let the closed transports go


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return head + await reader.readexactly(length)


def _header(request: bytes, name: bytes) -> bytes:
    head = request.split(b"\r\n\r\n", 1)[0]
    values = [
        line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")[1:]
        if line.split(b":", 1)[0].strip().lower() == name.lower()
    ]
    assert len(values) == 1, (name, head)
    return values[0]


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
OK += b'{"ok":true}'


async def test_client_posts_json_and_reads_length_chunked_and_close_delimited_answers(
    raw_server: Start,
) -> None:
    requests: list[bytes] = []
    answers = [
        OK,
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4\r\n{"ok\r\n7;x=1\r\n":true}\r\n0\r\nX-Trailer: 1\r\n\r\n',
        b"HTTP/1.0 502 Bad Gateway\r\n\r\n<html>502</html>",
        b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
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
        assert connections == 1  # kept alive across the three; HTTP/1.0 then closes it
        # A redirect is an answer (PTB's httpx does not follow them either): not followed.
        assert await client.post("sendMessage", b'{"chat_id":4}') == (302, b"")
    finally:
        await client.aclose()
    assert connections == 2
    assert len(requests) == 4
    for number, request in enumerate(requests, 1):
        assert request.startswith(b"POST /botTOKEN/sendMessage HTTP/1.1\r\n")
        assert request.endswith(b'\r\n\r\n{"chat_id":%d}' % number)
        assert _header(request, b"Content-Type") == b"application/json"
        assert _header(request, b"Content-Length") == b"13"
        assert _header(request, b"Host") == b"127.0.0.1:%d" % int(
            requests[0].split(b"Host: 127.0.0.1:")[1].split(b"\r\n")[0]
        )


async def test_an_idle_connection_the_server_closed_is_replaced_not_an_error(
    raw_server: Start,
) -> None:
    # Servers (Telegram's too) close idle keep-alive connections; that is not a lost request.
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _read_request(reader)
        writer.write(OK)  # keep-alive by default (HTTP/1.1) ...
        await writer.drain()
        writer.close()  # ... but the server hangs up once idle

    client = BotApiClient(await raw_server(handler))
    try:
        assert await client.post("sendMessage", b"{}") == (200, b'{"ok":true}')
        await asyncio.sleep(0.1)
        assert await client.post("sendMessage", b"{}") == (200, b'{"ok":true}')
    finally:
        await client.aclose()
    assert connections == 2


async def _swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)  # applied, then the connection drops without an answer
    writer.close()


async def _drop_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.transport.abort()  # accepted, then reset: whatever was written may have arrived


async def _hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    await asyncio.sleep(1)
    writer.close()


async def _truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b'{"ok":true,')
    await writer.drain()
    writer.close()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    await writer.drain()
    writer.close()


@pytest.mark.parametrize(
    ("handler", "error", "aiohttp_error"),
    [
        (_swallow, NetworkError, aiohttp.ServerDisconnectedError),
        (_drop_at_once, NetworkError, aiohttp.ClientError),
        (_hang, TimedOut, getattr(aiohttp, "SocketTimeoutError", aiohttp.ServerTimeoutError)),
        (_truncated, NetworkError, aiohttp.ClientPayloadError),
        (_garbage, NetworkError, aiohttp.ClientResponseError),
    ],
    ids=["answer-lost", "accepted-then-reset", "read-timeout", "truncated-body", "not-http"],
)
async def test_failures_after_connecting_may_have_been_sent(
    raw_server: Start, handler: Handler, error: type[Exception], aiohttp_error: type[Exception]
) -> None:
    requests = 0

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        requests += 1
        await handler(reader, writer)

    client = BotApiClient(await raw_server(counting), read_timeout=0.3)
    try:
        with pytest.raises(error) as raised:
            await client.post("sendMessage", b"{}")
    finally:
        await client.aclose()
    assert type(raised.value) is error
    assert isinstance(raised.value.__cause__, _MaybeSent)
    assert isinstance(raised.value.__cause__.__cause__, aiohttp_error | OSError)
    if aiohttp_error is not aiohttp.ClientError:
        assert isinstance(raised.value.__cause__.__cause__, aiohttp_error)
    assert requests == 1  # and never silently retried (POST is not idempotent)


async def test_a_request_lost_on_a_reused_connection_is_not_retried(raw_server: Start) -> None:
    # aiohttp retries idempotent methods once on a reused connection; never our POSTs.
    received: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await _read_request(reader))
        writer.write(OK)
        await writer.drain()
        received.append(await _read_request(reader))  # applied, then no answer
        writer.transport.abort()

    client = BotApiClient(await raw_server(handler))
    try:
        assert (await client.post("sendMessage", b'{"chat_id":1}'))[0] == 200
        with pytest.raises(NetworkError) as lost:
            await client.post("sendMessage", b'{"chat_id":2}')
        await asyncio.sleep(0.1)
    finally:
        await client.aclose()
    assert isinstance(lost.value.__cause__, _MaybeSent)
    assert len(received) == 2


async def test_connect_failures_were_not_sent(
    raw_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nobody listening: refused before anything was sent.
    probe = await asyncio.start_server(_swallow, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    refused = BotApiClient(f"http://127.0.0.1:{port}/botTOKEN")
    try:
        with pytest.raises(NetworkError) as not_sent:
            await refused.post("sendMessage", b"{}")
    finally:
        await refused.aclose()
    assert type(not_sent.value) is NetworkError
    assert isinstance(not_sent.value.__cause__, _NotSent)
    assert isinstance(not_sent.value.__cause__.__cause__, aiohttp.ClientConnectorError)

    # The TCP handshake never completes: a connect timeout, nothing sent. (aiohttp < 3.10
    # cannot tell it from a read timeout; the client then says "may have been sent".)
    if not hasattr(aiohttp, "ConnectionTimeoutError"):
        return
    accepted = 0

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        await _swallow(reader, writer)

    url = await raw_server(counting)
    loop = asyncio.get_running_loop()

    async def never(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(3600)

    monkeypatch.setattr(loop, "sock_connect", never)
    monkeypatch.setattr(loop, "create_connection", never)
    slow = BotApiClient(url, connect_timeout=0.2)
    try:
        with pytest.raises(TimedOut) as timed_out:
            await slow.post("sendMessage", b"{}")
    finally:
        await slow.aclose()
    assert isinstance(timed_out.value.__cause__, _NotSent)
    assert isinstance(timed_out.value.__cause__.__cause__, TimeoutError)
    assert accepted == 0


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA): (cert.pem, key.pem)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = shlex.split(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
        " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost"
    )
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_keep_alive_and_certificate_checks(
    raw_server: Start, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    connections = 0
    requests: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                requests.append(await _read_request(reader))
                writer.write(OK)
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    url = await raw_server(handler, server_tls)
    trusting = BotApiClient(url, ssl_context=ssl.create_default_context(cafile=str(cert)))
    try:
        for _ in range(3):
            assert await trusting.post("sendMessage", b'{"chat_id":1}') == (200, b'{"ok":true}')
    finally:
        await trusting.aclose()
    assert connections == 1 and len(requests) == 3
    assert requests[0].startswith(b"POST /botTOKEN/sendMessage HTTP/1.1\r\n")

    # The default trust store (certifi, as PTB's httpx) rejects it: nothing was sent.
    default = BotApiClient(url)
    try:
        with pytest.raises(NetworkError) as rejected:
            await default.post("sendMessage", b'{"chat_id":2}')
    finally:
        await default.aclose()
    assert isinstance(rejected.value.__cause__, _NotSent)
    assert isinstance(rejected.value.__cause__.__cause__, aiohttp.ClientConnectorCertificateError)
    assert len(requests) == 3


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


async def test_refused_connections_are_retried_until_telegram_is_back_then_sent_once(
    engine: Engine, settings: Settings, articles: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeTelegram()
    async with FakeTelegramServer(fake) as first:
        [chat_id] = users(fake, engine, 1)
        bot = await make_bot(first)
        port = first.port
    plan(engine)  # the server is gone now: every connect is refused
    failures: list[BaseException] = []
    refused = asyncio.Event()
    sessions: list[aiohttp.ClientSession] = []
    post = BotApiClient.post

    async def watched(self: BotApiClient, method: str, body: bytes) -> tuple[int, bytes]:
        try:
            return await post(self, method, body)
        except TelegramError as exc:
            failures.append(exc)
            refused.set()
            raise
        finally:
            if self._session is not None and self._session not in sessions:
                sessions.append(self._session)

    monkeypatch.setattr(BotApiClient, "post", watched)
    options = DeliveryOptions(backoff_base=0.1, max_network_retries=8, flush_interval=0.05)
    sender = Broadcaster(bot=bot, engine=engine, settings=settings, options=options)
    try:
        running = asyncio.create_task(sender.run_pass())
        await asyncio.wait_for(refused.wait(), timeout=10)
        async with FakeTelegramServer(fake, port=port):
            stats = await asyncio.wait_for(running, timeout=30)
    finally:
        await bot.shutdown()
    assert stats.sent == 1 and stats.unknown == 0
    assert all(isinstance(f, NetworkError) for f in failures)
    assert all(isinstance(f.__cause__, _NotSent) for f in failures)
    assert len(fake.requests_for("sendMessage")) == 1
    assert len(fake.bot_messages(chat_id)) == 1
    assert len(sessions) == 1 and sessions[0].closed  # one session for the pass, closed


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
