"""Webhook delivery for FakeTelegram: updates pushed by HTTP POST, one at a time, like Telegram.

While a webhook is set, updates stay in the fake's pending queue (``pending_update_count``) and
one task per bot POSTs the oldest to the webhook URL; it is removed when the webhook answers
2xx. A failed POST is retried with a doubling backoff, a bounded number of times, and then
given up (kept in ``dropped`` for inspection) so later updates are not stuck behind it. Only
loopback URLs are accepted unless the fake was told otherwise: it is a test/sandbox component
and must not become a way to make requests elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from bot.rules import is_loopback_host

from .errors import bad_request

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]*$")
MAX_SECRET = 256


class UpdateSource(Protocol):
    """What the pusher needs of the fake (its ``ChatStore``): pending updates and the signal."""

    @property
    def closing(self) -> bool: ...

    @property
    def changed(self) -> asyncio.Event: ...

    @property
    def pending_updates(self) -> list[dict[str, Any]]: ...

    def remove_pending(self, update_id: int) -> bool: ...

    def poke(self) -> None: ...


def check_webhook_url(url: str, *, allow_non_loopback: bool) -> None:
    """Raise ApiError (400 ``bad webhook: ...``) unless the fake may POST to ``url``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        raise bad_request("bad webhook: Wrong port number specified in the URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if port == 0:
        raise bad_request("bad webhook: Wrong port number specified in the URL")
    loopback = is_loopback_host(host)
    if not loopback and not allow_non_loopback:
        raise bad_request(
            f"bad webhook: the emulator only delivers to loopback addresses (127.0.0.1, ::1, "
            f"localhost), not {host!r}"
        )
    # Plain HTTP only to this machine (a test's or the sandbox's bot); elsewhere, as Telegram.
    if parts.scheme != "https" and not loopback:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")


def check_secret_token(secret: str) -> None:
    if len(secret) > MAX_SECRET:
        raise bad_request("secret token is too long")
    if not _SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST of one update to the webhook (``error`` None: delivered)."""

    update_id: int
    url: str
    attempt: int
    at: datetime
    status: int | None  # the webhook's HTTP status; None when it did not answer
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


class WebhookPusher:
    """The webhook configuration of one bot and the task that delivers its updates."""

    def __init__(
        self,
        fake: UpdateSource,
        *,
        max_attempts: int,
        retry_delay: float,
        max_retry_delay: float,
        timeout: float,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("webhook_max_attempts must be at least 1")
        self._fake = fake
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.timeout = timeout
        self.url = ""
        self.secret: str | None = None
        self.max_connections = 40
        self.last_error_date: datetime | None = None
        self.last_error_message: str | None = None
        self.attempts: list[WebhookAttempt] = []
        self.dropped: list[dict[str, Any]] = []  # updates given up after max_attempts
        self._task: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ configuration

    def configure(self, url: str, secret: str | None, max_connections: int | None) -> None:
        if (url, secret) != (self.url, self.secret):
            self.last_error_date = self.last_error_message = None
        self.url, self.secret = url, secret
        if max_connections is not None:
            self.max_connections = max_connections
        self.ensure_running()

    def clear(self) -> None:
        self.url, self.secret = "", None
        self.last_error_date = self.last_error_message = None

    def info(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.url:
            data["max_connections"] = self.max_connections
        if self.last_error_date is not None:
            data["last_error_date"] = int(self.last_error_date.timestamp())
            data["last_error_message"] = self.last_error_message
        return data

    # ------------------------------------------------------------------ the delivery task

    def ensure_running(self) -> None:
        """Start the delivery task if a webhook is set and it is not running (needs a loop)."""
        if not self.url or self._fake.closing:
            return
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._run(), name="fake-telegram-webhook")

    def cancel(self) -> None:
        """Stop delivering now (the update in flight stays pending)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def stop(self) -> None:
        self.cancel()
        for task in list(self._stopping):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        me = asyncio.current_task()
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
            while True:
                changed = self._fake.changed  # captured before checking, or we could miss a poke
                if not self.url or self._fake.closing:
                    if self._task is me:
                        self._task = None  # a setWebhook from now on starts a new task
                    return
                pending = self._fake.pending_updates
                if not pending:
                    await changed.wait()
                    continue
                await self._deliver(client, pending[0])

    async def _deliver(self, client: httpx.AsyncClient, update: dict[str, Any]) -> None:
        """POST ``update`` until it is delivered or given up (or the webhook goes away)."""
        update_id = int(update["update_id"])
        for attempt in range(1, self.max_attempts + 1):
            url, secret = self.url, self.secret
            if not url or self._fake.closing:
                return
            status, error = await self._post(client, url, secret, update)
            now = datetime.now(UTC)
            self.attempts.append(WebhookAttempt(update_id, url, attempt, now, status, error))
            if error is None:
                self._fake.remove_pending(update_id)
                return
            if url == self.url:
                self.last_error_date, self.last_error_message = now, error
            self._fake.poke()
            if attempt < self.max_attempts:
                delay = min(self.retry_delay * 2 ** (attempt - 1), self.max_retry_delay)
                await asyncio.sleep(delay)
        logger.warning(
            "fake Telegram gave up delivering update %s to the webhook after %d attempts: %s",
            update_id,
            self.max_attempts,
            self.last_error_message,
        )
        if self._fake.remove_pending(update_id):
            self.dropped.append(update)

    async def _post(
        self, client: httpx.AsyncClient, url: str, secret: str | None, update: dict[str, Any]
    ) -> tuple[int | None, str | None]:
        headers = {"Content-Type": "application/json"}
        if secret:
            headers[SECRET_HEADER] = secret
        body = json.dumps(update, ensure_ascii=False).encode()
        try:
            response = await client.post(url, content=body, headers=headers, timeout=self.timeout)
        except httpx.ConnectError:
            return None, "Connection refused"
        except httpx.TimeoutException:
            return None, "Read timeout expired"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return response.status_code, None
        reason = response.reason_phrase or _phrase(response.status_code)
        return (
            response.status_code,
            f"Wrong response from the webhook: {response.status_code} {reason}",
        )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
