"""The broadcast's lean Bot API client and the Telegram error mapping it shares with PTB.

``BotApiClient`` POSTs a pre-serialised JSON body over one aiohttp session; ``api_error`` turns
a non-2xx answer into the exception PTB would raise; ``reached_telegram`` says, for a network
error from either stack, whether the request may have been applied (then it is never retried).
"""

from __future__ import annotations

import json
import os
import ssl
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from telegram import InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Defaults, ExtBot
from telegram.request import HTTPXRequest
from yarl import URL

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class NotSent(Exception):
    """Cause of a TelegramError raised before any byte of the request left (safe to retry)."""


class MaybeSent(Exception):
    """Cause of a TelegramError raised after the request was written (never retried)."""


class ClosedEarly(MaybeSent):
    """The connection closed before any byte of an answer: the broadcaster retries once."""


# Errors raised before any byte of the request reached the server (PTB's httpx stack or ours).
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    NotSent,
)


def reached_telegram(exc: NetworkError) -> bool:
    """Whether the request behind this error may have reached Telegram (never retry then).

    False for errors that prove nothing was applied: connect/pool timeouts, connect errors,
    and answers from Telegram itself (5xx, maybe an HTML 502 page).
    """
    cause = exc.__cause__
    if isinstance(exc, TimedOut):
        return not isinstance(cause, _NOT_SENT) and "pool timeout" not in str(exc).lower()
    return isinstance(cause, httpx.HTTPError | MaybeSent) and not isinstance(cause, _NOT_SENT)


def closed_early(exc: NetworkError) -> bool:
    """Did the connection close before any byte of an answer arrived (either stack)?"""
    cause = exc.__cause__
    if isinstance(cause, ClosedEarly):
        return True
    # httpx (PTB's own stack): h11 saw the connection end before a status line.
    return isinstance(cause, httpx.RemoteProtocolError) and "without sending a response" in str(
        cause
    )


# Raised only while the connector was still getting a connection (connect refused, DNS, TLS
# handshake, connect timeout): no byte of the request can have left. aiohttp < 3.10 has no
# ``ConnectionTimeoutError``; there a connect timeout is a plain ``ServerTimeoutError``, the
# same class as a read timeout, so it counts as "may have been sent" (the safe side).
_CONNECT_ERRORS: tuple[type[Exception], ...] = (aiohttp.ClientConnectorError,) + (
    (aiohttp.ConnectionTimeoutError,) if hasattr(aiohttp, "ConnectionTimeoutError") else ()
)


class BotApiClient:
    """``POST <base_url>/<method>`` with a pre-serialised JSON body, over one aiohttp session.

    The broadcast's hot path, where PTB's generic stack (object building, form encoding, the
    httpx connection pool, ``Message`` parsing) costs several times the work itself. HTTP,
    keep-alive and TLS are aiohttp's (``ClientSession`` over a ``TCPConnector``); the session
    is opened on the first request and closed by ``aclose``. Errors are raised as the same PTB
    exceptions ``BaseRequest`` raises; their ``__cause__`` says whether the request can have
    reached Telegram (``MaybeSent``) or not (``NotSent``), and its own ``__cause__`` is the
    aiohttp exception.
    """

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float | None = 5.0,
        read_timeout: float | None = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        connections: int = 16,
        keepalive_timeout: float = 15.0,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"unsupported Bot API URL scheme: {url.scheme!r}")
        self._base = base_url.rstrip("/")
        self._ssl: ssl.SSLContext | bool = True
        if url.scheme == "https":
            # The trust store PTB's own httpx transport uses (certifi, SSL_CERT_FILE/DIR).
            self._ssl = ssl_context or httpx.create_ssl_context()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.connections = max(1, connections)
        self.keepalive_timeout = keepalive_timeout
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}  # parsed once per method, not per request

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.connections,
            keepalive_timeout=self.keepalive_timeout,
            ssl=self._ssl,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # Bounded per phase: a connect timeout proves nothing was sent, a read timeout
            # does not. No overall or pool timeout (at most ``connections`` requests at once).
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=None,
                sock_connect=self.connect_timeout,
                sock_read=self.read_timeout,
            ),
            headers={"Content-Type": "application/json", "User-Agent": "digestbot"},
            # Fewer headers to build per request; no Accept-Encoding: answers come uncompressed.
            skip_auto_headers=("Accept", "Accept-Encoding"),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,  # proxies from the environment: fast_client_for falls back to PTB
        )
        return self._session

    async def post(self, method: str, body: bytes) -> tuple[int, bytes]:
        """(HTTP status, body) of ``POST method``; PTB's NetworkError/TimedOut on failure."""
        session = self._session if self._session is not None else self._open()
        url = self._urls.get(method)
        if url is None:
            url = self._urls[method] = URL(f"{self._base}/{method}")
        try:
            async with session.post(url, data=body, allow_redirects=False) as response:
                return response.status, await response.read()
        except _CONNECT_ERRORS as exc:
            if isinstance(exc, TimeoutError):
                raise TimedOut("Timed out: connect timeout") from _chained(NotSent, exc)
            raise NetworkError(f"Bot API connect error: {exc}") from _chained(NotSent, exc)
        except TimeoutError as exc:  # sock_read (SocketTimeoutError), after writing
            raise TimedOut("Timed out: read timeout") from _chained(MaybeSent, exc)
        except aiohttp.ServerDisconnectedError as exc:
            # Closed before any byte of an answer (a stale keep-alive connection, mostly).
            raise NetworkError(f"Bot API connection: {exc!r}") from _chained(ClosedEarly, exc)
        except (aiohttp.ClientError, OSError) as exc:
            # ServerDisconnectedError, ClientPayloadError, ClientOSError, a malformed answer:
            # the connection was up, so the request may have been written and applied.
            raise NetworkError(f"Bot API connection: {exc!r}") from _chained(MaybeSent, exc)

    async def call(self, method: str, body: bytes) -> dict[str, Any]:
        """The ``result`` of ``POST method`` (what PTB's request callbacks return)."""
        status, payload = await self.post(method, body)
        if not HTTPStatus.OK <= status <= 299:
            raise api_error(status, payload)
        try:
            answer = json.loads(payload.decode("utf-8", "replace"))
        except ValueError as exc:
            raise TelegramError("Invalid server response") from exc
        result: dict[str, Any] = answer["result"]
        return result

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _chained(kind: type[Exception], exc: BaseException) -> Exception:
    marker = kind(str(exc) or type(exc).__name__)
    marker.__cause__ = exc
    return marker


_PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
)
_PLAIN_HTTPX_KWARGS = frozenset({"timeout", "proxy", "limits", "transport", "http1", "http2"})


def _httpx_client_kwargs(request: HTTPXRequest) -> dict[str, Any] | None:
    """The arguments PTB's ``HTTPXRequest`` builds its httpx client from.

    PTB 22 exposes only ``read_timeout`` and ``http_version`` publicly; whether a proxy, a
    custom transport or other httpx arguments were given (which the lean client cannot honour)
    is only in the private ``_client_kwargs``. Read here and nowhere else; None when a PTB
    version no longer has it, which safely disables the fast path.
    """
    kwargs = getattr(request, "_client_kwargs", None)
    return kwargs if isinstance(kwargs, dict) else None


def fast_client_for(bot: ExtBot[Any], *, connections: int = 16) -> BotApiClient | None:
    """A ``BotApiClient`` equivalent to the bot's own request setup, or None if there is none.

    Only a plain ``HTTPXRequest`` qualifies: no proxy (argument or environment), no custom
    transport or httpx arguments, no arbitrary callback data (PTB rewrites buttons then).
    """
    request = bot.request
    if type(request) is not HTTPXRequest or bot.callback_data_cache is not None:
        return None
    kwargs = _httpx_client_kwargs(request)
    if kwargs is None or set(kwargs) - _PLAIN_HTTPX_KWARGS:
        return None
    if kwargs.get("proxy") is not None or kwargs.get("transport") is not None:
        return None
    if any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return None
    timeout = kwargs.get("timeout")
    connect = timeout.connect if isinstance(timeout, httpx.Timeout) else 5.0
    try:
        return BotApiClient(
            bot.base_url,
            connect_timeout=connect,
            read_timeout=request.read_timeout,
            connections=connections,
        )
    except ValueError:
        return None


def message_body(
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    defaults: Defaults | None,
    allow_paid_broadcast: bool,
) -> bytes:
    """A sendMessage JSON body (HTML, no link preview) without its opening ``{``, so that
    ``b'{"chat_id":N,' + body`` is the whole request: serialised once, sent to many chats."""
    fields: dict[str, Any] = {
        "text": text,
        "parse_mode": ParseMode.HTML.value,
        "link_preview_options": NO_PREVIEW.to_dict(),
    }
    if markup is not None:
        fields["reply_markup"] = markup.to_dict()
    if allow_paid_broadcast:
        fields["allow_paid_broadcast"] = True
    if defaults is not None:
        # What ExtBot would insert from Defaults for sendMessage (the rest is explicit).
        if defaults.disable_notification is not None:
            fields["disable_notification"] = defaults.disable_notification
        if defaults.protect_content is not None:
            fields["protect_content"] = defaults.protect_content
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()[1:]


def message_id(result: object) -> int:
    """The ``message_id`` of a sendMessage result."""
    if not isinstance(result, dict):
        raise TelegramError("Invalid server response")
    return int(result["message_id"])


def api_error(code: int, payload: bytes) -> TelegramError:
    """The exception PTB's ``BaseRequest`` raises for this non-2xx answer.

    Mirrors ``telegram.request.BaseRequest._request_wrapper`` (PTB 22): keep the two in step
    when upgrading PTB (tests/bot/delivery/test_delivery_fastpath.py compares them).
    """
    try:
        message = f"{HTTPStatus(code).phrase} ({code})"
    except ValueError:
        message = f"Unknown HTTPError ({code})"
    try:
        data = json.loads(payload.decode("utf-8", "replace"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        message += f". Parsing the server response {payload!r} failed"
        parsing: TelegramError | None = TelegramError("Invalid server response")
        parsing.__cause__ = exc  # type: ignore[union-attr]
    else:
        parsing = None
        message = data.get("description") or message
        parameters = data.get("parameters")
        if parameters:
            migrate_to_chat_id = parameters.get("migrate_to_chat_id")
            if migrate_to_chat_id:
                return ChatMigrated(migrate_to_chat_id)
            retry_after = parameters.get("retry_after")
            if retry_after:
                return RetryAfter(retry_after)
            message += f". The server response contained unknown parameters: {parameters}"
    exception: TelegramError
    if code == HTTPStatus.FORBIDDEN:
        exception = Forbidden(message)
    elif code in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        exception = InvalidToken(message)
    elif code == HTTPStatus.BAD_REQUEST:
        exception = BadRequest(message)
    elif code == HTTPStatus.CONFLICT:
        exception = Conflict(message)
    else:
        exception = NetworkError(message)
    if parsing is not None:
        exception.__cause__ = parsing
    return exception
