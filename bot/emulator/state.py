"""``FakeTelegram``: the Bot API families and the user side combined, and ``call_api``.

``FakeTelegram.call_api`` answers Bot API calls (the HTTP transport in ``server.py`` only
decodes requests): it applies flood limits and injected faults, dispatches to the family
that implements the method (``api_*.py``, ``updates.py``) and logs the request. The other
public methods act as Telegram users (``users.py``, ``membership.py``), wait for the bot
(``waiting.py``) or inspect what it did (``store.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from functools import cached_property
from typing import Any

from .api_chats import ChatsApi
from .api_messages import MessagesApi
from .api_profile import ProfileApi
from .api_queries import QueriesApi
from .errors import ApiError, too_many_requests
from .membership import Membership
from .models import ApiRequest
from .params import ApiResponse, Params, utc_now
from .waiting import Waiting

ApiHandler = Callable[[Params], Awaitable[Any]]


_BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class FakeTelegram(MessagesApi, QueriesApi, ChatsApi, ProfileApi, Membership, Waiting):
    """In-memory Telegram: users, chats, messages, the update queue and Bot API semantics."""

    @cached_property
    def _methods(self) -> dict[str, ApiHandler]:
        """Bot API method name (lower case) -> the ``_api_<name>`` implementing it."""
        return {
            name[len("_api_") :]: getattr(self, name)
            for name in dir(type(self))
            if name.startswith("_api_")
        }

    async def call_api(self, method: str, params: Mapping[str, Any]) -> ApiResponse:
        """Answer one Bot API call (token already checked by the transport)."""
        started = time.monotonic()
        at = utc_now()
        raw = dict(params)
        fault: str | None = None
        handler = self._methods.get(method.lower())
        if method.lower() == "sendrichmessage" and not self.rich_messages:
            handler = None  # an older Bot API server: the method does not exist
        if handler is None:
            response = ApiResponse(404, ApiError(404, "Not Found: method not found").to_json())
            self._log(method, raw, at, started, response, None)
            return response
        pre = self.faults.before(method)
        if pre.delay > 0:
            await asyncio.sleep(pre.delay)
        p = Params(raw)
        try:
            if pre.status == 429:
                fault = "retry_after"
                chat_id, _ = self._peek_chat(p)
                if self.flood.counts(method):
                    event = self.flood.add_penalty(method, chat_id, pre.retry_after)
                    raise too_many_requests(event.retry_after)
                raise too_many_requests(pre.retry_after)
            if pre.status is not None:
                fault = "server_error"
                response = self._server_error(pre.status)
                self._log(method, raw, at, started, response, fault)
                return response
            counted = self.flood.counts(method)
            chat_id, is_group = self._peek_chat(p) if counted else (None, False)
            if counted:
                rejection = self.flood.check(method, chat_id, is_group)
                if rejection is not None:
                    raise too_many_requests(rejection.retry_after)
            result = await handler(p)
            if counted:
                self.flood.record_sent(chat_id, is_group)
            after = self.faults.after(method, raw)
            fault = after
            response = ApiResponse(
                200,
                {"ok": True, "result": result},
                after=after,
                hang_seconds=self.faults.config.hang_seconds,
            )
        except ApiError as err:
            response = ApiResponse(err.status, err.to_json())
        self._log(method, raw, at, started, response, fault)
        return response

    def _server_error(self, status: int) -> ApiResponse:
        if status == 502:
            return ApiResponse(502, None, raw_body=_BAD_GATEWAY_HTML)
        return ApiResponse(
            status, {"ok": False, "error_code": status, "description": "Internal Server Error"}
        )

    def _log(
        self,
        method: str,
        params: dict[str, Any],
        at: datetime,
        started: float,
        response: ApiResponse,
        fault: str | None,
    ) -> None:
        description = response.payload.get("description") if response.payload else None
        self.requests.append(
            ApiRequest(
                method=method,
                params=params,
                at=at,
                duration=time.monotonic() - started,
                status=response.status,
                description=description,
                fault=fault,
            )
        )
        if response.status != 200 or fault:
            self.poke()

    def _peek_chat(self, p: Params) -> tuple[int | None, bool]:
        """Chat a request targets, for flood accounting; unknown chats count globally only."""
        raw = p.raw.get("chat_id")
        if raw in (None, ""):
            return None, False
        chat = self._lookup_chat(raw)
        if chat is None:
            try:
                return int(raw), False
            except (TypeError, ValueError):
                return None, False
        return chat.id, chat.is_group
