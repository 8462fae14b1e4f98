"""The fake Telegram itself: pure-Python state and Bot API semantics, no HTTP.

``FakeTelegram.call_api`` answers Bot API calls (the HTTP transport in ``server.py`` only
decodes requests); the other public methods act as Telegram users and inspect what the bot did.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from .errors import ApiError, bad_request, forbidden, too_many_requests
from .html_entities import (
    EntityParseError,
    finalize_text,
    find_auto_entities,
    normalize_link,
    parse_html,
    sort_entities,
    utf16_len,
    validate_entities,
)
from .limits import FaultInjector, FloodLimiter, PostAction
from .models import (
    ApiRequest,
    CallbackQueryRecord,
    ChatType,
    FakeChat,
    FakeEvent,
    FakeMessage,
    FakeUser,
    InlineQueryRecord,
    Listener,
    MemberStatus,
    MessageVersion,
)
from .webhook import WebhookAttempt, WebhookPusher, check_secret_token, check_webhook_url

logger = logging.getLogger(__name__)

T = TypeVar("T")
UserRef = FakeUser | int
ChatRef = FakeChat | FakeUser | int  # a FakeUser means their private chat
ApiHandler = Callable[["Params"], Awaitable[Any]]

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_BUTTONS = 100
MAX_ROW = 8
# Updates Telegram sends when allowed_updates is empty/unset.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_NO_GIFTS = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CommandScopeKey = tuple[str, int | None, int | None]


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


class Params:
    """Request parameters; form bodies carry strings, JSON bodies carry typed values."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = dict(raw)

    def present(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def get_str(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return str(value)

    def get_int(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_float(self, name: str) -> float | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        value = self.raw.get(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1")

    def get_json(self, name: str, what: str | None = None) -> Any:
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise bad_request(f"can't parse {what or name} JSON object") from None
        return value


@dataclass(frozen=True)
class ApiResponse:
    """What the transport must send back (or, with ``after``, deliberately not send)."""

    status: int
    payload: dict[str, Any] | None
    raw_body: bytes | None = None  # non-JSON body, e.g. nginx's 502 page
    after: PostAction | None = None
    hang_seconds: float | None = None

    @property
    def content_type(self) -> str:
        return "application/json" if self.raw_body is None else "text/html"

    def body(self) -> bytes:
        if self.raw_body is not None:
            return self.raw_body
        return json.dumps(self.payload, ensure_ascii=False).encode()


_BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class FakeTelegram:
    """In-memory Telegram: users, chats, messages, the update queue and Bot API semantics."""

    def __init__(
        self,
        token: str = "123456789:TEST-fake-telegram-token",
        *,
        bot_username: str = "digest_test_bot",
        bot_first_name: str = "Digest Bot",
        privacy_mode: bool = True,
        strict_html_ampersand: bool = True,
        flood: FloodLimiter | None = None,
        faults: FaultInjector | None = None,
        allow_non_loopback_webhooks: bool = False,
        webhook_max_attempts: int = 5,
        webhook_retry_delay: float = 0.2,
        webhook_max_retry_delay: float = 5.0,
        webhook_timeout: float = 10.0,
    ) -> None:
        """``webhook_*``: how a set webhook is pushed to — attempts per update (then it is
        given up), the first retry delay (doubling up to the maximum), the POST timeout. Only
        loopback webhook URLs are accepted unless ``allow_non_loopback_webhooks``."""
        bot_id_text, sep, _ = token.partition(":")
        if not sep or not bot_id_text.isdigit():
            raise ValueError("token must look like '<bot id>:<secret>'")
        self.token = token
        self.bot = FakeUser(id=int(bot_id_text), first_name=bot_first_name, username=bot_username)
        self.bot.is_bot = True
        # Privacy mode: in groups the bot only sees commands, replies to it and mentions.
        self.privacy_mode = privacy_mode
        self.strict_html_ampersand = strict_html_ampersand
        self.flood = flood or FloodLimiter()
        self.faults = faults or FaultInjector()

        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.inline_queries: dict[str, InlineQueryRecord] = {}
        self.commands: dict[tuple[CommandScopeKey, str], list[dict[str, str]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.bot_settings: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[ApiRequest] = []
        self.updates_log: list[dict[str, Any]] = []  # every update ever queued
        self.allow_non_loopback_webhooks = allow_non_loopback_webhooks
        self.webhook = WebhookPusher(
            self,
            max_attempts=webhook_max_attempts,
            retry_delay=webhook_retry_delay,
            max_retry_delay=webhook_max_retry_delay,
            timeout=webhook_timeout,
        )

        self._messages: dict[int, list[FakeMessage]] = {}
        self._by_id: dict[tuple[int, int], FakeMessage] = {}
        self._inline_messages: dict[str, FakeMessage] = {}
        self._next_message_id: dict[int, int] = {}
        self._cursor: dict[int, int] = {}
        self._updates: list[dict[str, Any]] = []
        self._allowed_updates: frozenset[str] | None = None
        self._ids = itertools.count(1)
        self._next_update_id = 1
        self._poll_generation = 0
        self.long_polls_waiting = 0  # getUpdates calls currently blocked waiting for updates
        self._closing = False
        self._changed = asyncio.Event()
        self._listeners: list[Listener] = []
        self._methods: dict[str, ApiHandler] = {
            name[len("_api_") :]: getattr(self, name)
            for name in dir(self)
            if name.startswith("_api_")
        }

    # ------------------------------------------------------------------ Bot API entry point

    @property
    def bot_id(self) -> int:
        return self.bot.id

    def bot_dict(self) -> dict[str, Any]:
        return self.bot.to_dict()

    def knows_method(self, method: str) -> bool:
        return method.lower() in self._methods

    async def call_api(self, method: str, params: Mapping[str, Any]) -> ApiResponse:
        """Answer one Bot API call (token already checked by the transport)."""
        started = time.monotonic()
        at = _now()
        raw = dict(params)
        fault: str | None = None
        handler = self._methods.get(method.lower())
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
            self._poke()

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

    # ------------------------------------------------------------------ helpers: lookup/format

    def _user(self, ref: UserRef) -> FakeUser:
        user_id = ref.id if isinstance(ref, FakeUser) else ref
        try:
            return self.users[user_id]
        except KeyError:
            raise KeyError(f"unknown user {user_id}") from None

    def _chat(self, ref: ChatRef) -> FakeChat:
        chat_id = ref if isinstance(ref, int) else ref.id
        try:
            return self.chats[chat_id]
        except KeyError:
            raise KeyError(f"unknown chat {chat_id}") from None

    def _lookup_chat(self, raw: Any) -> FakeChat | None:
        if isinstance(raw, str) and raw.startswith("@"):
            wanted = raw[1:].lower()
            for chat in self.chats.values():
                if chat.type != "private" and (chat.username or "").lower() == wanted:
                    return chat
            return None
        try:
            return self.chats.get(int(raw))
        except (TypeError, ValueError):
            return None

    def _resolve_chat(self, p: Params, *, write: bool, name: str = "chat_id") -> FakeChat:
        if not p.present(name):
            raise bad_request(f"{name} is empty")
        chat = self._lookup_chat(p.raw[name])
        if chat is None:
            raise bad_request("chat not found")
        if chat.migrated_to is not None:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "private":
            user = self.users[chat.id]
            if write:
                if user.deactivated:
                    raise forbidden("user is deactivated")
                if user.blocked_bot:
                    raise forbidden("bot was blocked by the user")
                if not chat.started:
                    raise forbidden("bot can't initiate conversation with a user")
        else:
            kind = {"group": "group chat", "supergroup": "supergroup chat"}.get(
                chat.type, "channel chat"
            )
            if chat.bot_status == "kicked":
                raise forbidden(f"bot was kicked from the {kind}")
            if chat.bot_status == "left":
                raise forbidden(f"bot is not a member of the {kind}")
            if chat.type == "channel" and write and chat.bot_status != "administrator":
                raise bad_request("need administrator rights in the channel chat")
        return chat

    def chat_dict(self, chat: FakeChat) -> dict[str, Any]:
        data: dict[str, Any] = {"id": chat.id, "type": chat.type}
        if chat.type == "private":
            user = self.users[chat.id]
            data["first_name"] = user.first_name
            if user.last_name:
                data["last_name"] = user.last_name
            if user.username:
                data["username"] = user.username
        else:
            data["title"] = chat.title or ""
            if chat.username:
                data["username"] = chat.username
        return data

    def message_dict(self, message: FakeMessage, *, nested: bool = False) -> dict[str, Any]:
        """The Bot API ``Message`` object for a stored message."""
        chat = self.chats[message.chat_id]
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self.bot_dict()
            if message.from_bot
            else self.users[message.sender_id].to_dict(),
            "chat": self.chat_dict(chat),
            "date": _ts(message.date),
        }
        if message.text is not None:
            data["text"] = message.text
            if message.entities:
                data["entities"] = message.entities
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.edit_date is not None:
            data["edit_date"] = _ts(message.edit_date)
        if message.via_bot:
            data["via_bot"] = self.bot_dict()
        if message.reply_to_message_id is not None and not nested:
            replied = self._by_id.get((message.chat_id, message.reply_to_message_id))
            if replied is not None and not replied.deleted:
                data["reply_to_message"] = self.message_dict(replied, nested=True)
        if message.service:
            data.update(message.service)
        return data

    def _member_dict(self, user: dict[str, Any], status: MemberStatus) -> dict[str, Any]:
        data: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            data["is_anonymous"] = False
        elif status == "administrator":
            data.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
                can_pin_messages=True,
            )
        elif status == "kicked":
            data["until_date"] = 0
        elif status == "restricted":
            data.update(
                is_member=True,
                can_change_info=False,
                can_invite_users=False,
                can_pin_messages=False,
                can_send_messages=False,
                can_send_polls=False,
                can_send_other_messages=False,
                can_add_web_page_previews=False,
                can_manage_topics=False,
                until_date=0,
                can_send_audios=False,
                can_send_documents=False,
                can_send_photos=False,
                can_send_videos=False,
                can_send_video_notes=False,
                can_send_voice_notes=False,
                can_edit_tag=False,
            )
        return data

    def format_text(
        self,
        text: str | None,
        parse_mode: str | None,
        entities: Any,
        *,
        empty_error: str = "message text is empty",
        long_error: str = "message is too long",
    ) -> tuple[str, list[dict[str, Any]]]:
        """Text + entities as Telegram stores them; raises ApiError like Telegram."""
        if not text:
            raise bad_request(empty_error)
        try:
            if entities is not None:
                plain, found = text, validate_entities(text, entities)
            elif parse_mode:
                mode = parse_mode.lower()
                if mode == "html":
                    plain, found = parse_html(text, strict_ampersand=self.strict_html_ampersand)
                elif mode in ("markdown", "markdownv2"):
                    raise bad_request(
                        "can't parse entities: the fake Telegram server only implements "
                        "parse_mode HTML"
                    )
                else:
                    raise bad_request("unsupported parse_mode")
            else:
                plain, found = text, []
        except EntityParseError as err:
            raise bad_request(f"can't parse entities: {err}") from None
        plain, found = finalize_text(plain, found)
        if not plain:
            raise bad_request(empty_error)
        if utf16_len(plain) > MAX_TEXT:
            raise bad_request(long_error)
        return plain, found

    def validate_reply_markup(self, markup: Any) -> dict[str, Any] | None:
        """Check a reply_markup the way Telegram does; returns it normalised."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of '
                    "Arrays"
                )
            total = sum(len(r) for r in rows)
            if total > MAX_BUTTONS:
                raise bad_request(f"REPLY_MARKUP_TOO_LONG: {total} buttons, at most 100 allowed")
            normalised_rows: list[list[dict[str, Any]]] = []
            for row in rows:
                if len(row) > MAX_ROW:
                    raise bad_request(f"too many buttons in a row: {len(row)}, at most 8 allowed")
                normalised_rows.append([self._validate_inline_button(b) for b in row])
            return {"inline_keyboard": [r for r in normalised_rows if r]}
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    label = button.get("text") if isinstance(button, dict) else button
                    if not isinstance(label, str) or not label:
                        raise bad_request(
                            'can\'t parse keyboard button: Field "text" must be of type String'
                        )
            return dict(markup)
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return dict(markup)
        raise bad_request("can't parse reply keyboard markup JSON object")

    def _validate_inline_button(self, button: Any) -> dict[str, Any]:
        prefix = "can't parse inline keyboard button: "
        if not isinstance(button, dict):
            raise bad_request(prefix + "InlineKeyboardButton must be an Object")
        label = button.get("text")
        if not isinstance(label, str):
            raise bad_request(prefix + 'Field "text" must be of type String')
        if not label.strip():
            raise bad_request("BUTTON_TEXT_INVALID")
        actions = [key for key in _BUTTON_ACTIONS if key in button]
        if not actions:
            raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise bad_request(
                prefix + f"exactly one of the optional fields must be used, got {actions}"
            )
        result = dict(button)
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            scheme = url.split(":", 1)[0].lower() if isinstance(url, str) and ":" in url else ""
            normalised = normalize_link(url) if scheme in ("http", "https", "tg") else None
            if normalised is None:
                raise bad_request("BUTTON_URL_INVALID")
            result["url"] = normalised
        return result

    def _find_message(self, chat: FakeChat, message_id: int | None, error: str) -> FakeMessage:
        message = self._by_id.get((chat.id, message_id)) if message_id is not None else None
        if message is None or message.deleted:
            raise bad_request(error)
        return message

    # ------------------------------------------------------------------ events and waiting

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` (sync or async) on every change; returns an unsubscribe."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def _poke(self) -> None:
        # Wake every waiter; they re-check their condition against the new state.
        self._changed.set()
        self._changed = asyncio.Event()

    async def _emit(self, event: FakeEvent) -> None:
        self._poke()
        for listener in list(self._listeners):
            try:
                outcome = listener(event)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                logger.exception("fake Telegram listener failed on %s", event.kind)

    async def wait_for(
        self,
        condition: Callable[[], T | None] | int,
        *,
        chat: ChatRef | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> T | list[FakeMessage]:
        """Wait until ``condition()`` is truthy (returns its value), or, given an int N and
        ``chat``, until the bot has sent at least N messages there (returns them)."""
        if isinstance(condition, int):
            if chat is None:
                raise ValueError("wait_for(count) needs chat=")
            count, target = condition, self._chat(chat).id

            def enough() -> list[FakeMessage] | None:
                sent = self.bot_messages(target)
                return sent if len(sent) >= count else None

            return await self._wait(enough, timeout, f"{count} bot message(s) in chat {target}")
        return await self._wait(condition, timeout, "condition")

    async def _wait(
        self,
        condition: Callable[[], T | None],
        timeout: float,  # noqa: ASYNC109
        what: str,
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            value = condition()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}{self._hint()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _hint(self) -> str:
        failures = [r for r in self.requests if r.status != 200][-3:]
        lines = [f"{r.method} -> {r.status} {r.description}" for r in failures]
        return ("; recent failed API calls: " + " | ".join(lines)) if lines else ""

    async def next_bot_messages(
        self,
        chat: ChatRef,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[FakeMessage]:
        """The bot's next ``count`` messages in ``chat`` not yet returned by this method."""
        target = self._chat(chat).id

        def ready() -> list[FakeMessage] | None:
            sent = [m for m in self._messages.get(target, []) if m.from_bot]
            start = self._cursor.get(target, 0)
            return sent[start : start + count] if len(sent) - start >= count else None

        found = await self._wait(ready, timeout, f"{count} new bot message(s) in chat {target}")
        self._cursor[target] = self._cursor.get(target, 0) + count
        return found

    async def next_bot_message(self, chat: ChatRef, *, timeout: float = 5.0) -> FakeMessage:  # noqa: ASYNC109
        return (await self.next_bot_messages(chat, 1, timeout=timeout))[0]

    async def wait_for_callback_answer(
        self,
        query_id: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackQueryRecord:
        record = self.callback_queries[query_id]
        return await self._wait(
            lambda: record if record.answered else None, timeout, f"answer to {query_id}"
        )

    async def wait_for_inline_answer(
        self,
        query_id: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InlineQueryRecord:
        record = self.inline_queries[query_id]
        return await self._wait(
            lambda: record if record.answered else None, timeout, f"answer to {query_id}"
        )

    # ------------------------------------------------------------------ inspection

    def messages(self, chat: ChatRef, *, include_deleted: bool = False) -> list[FakeMessage]:
        """Every message in the chat (users' and the bot's), oldest first."""
        found = self._messages.get(self._chat(chat).id, [])
        return [m for m in found if include_deleted or not m.deleted]

    def bot_messages(self, chat: ChatRef, *, include_deleted: bool = False) -> list[FakeMessage]:
        return [m for m in self.messages(chat, include_deleted=include_deleted) if m.from_bot]

    def get_message(self, chat: ChatRef, message_id: int) -> FakeMessage:
        return self._by_id[(self._chat(chat).id, message_id)]

    def requests_for(self, method: str) -> list[ApiRequest]:
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def commands_for(
        self,
        language_code: str = "",
        scope_type: str = "default",
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> list[dict[str, str]]:
        return list(self.commands.get(((scope_type, chat_id, user_id), language_code), []))

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet fetched with getUpdates, or not yet delivered to the webhook."""
        return list(self._updates)

    @property
    def webhook_url(self) -> str:
        """The webhook URL set with setWebhook; empty: updates wait for getUpdates."""
        return self.webhook.url

    @property
    def webhook_attempts(self) -> list[WebhookAttempt]:
        """Every POST to a webhook so far, oldest first."""
        return list(self.webhook.attempts)

    @property
    def webhook_dropped(self) -> list[dict[str, Any]]:
        """Updates given up after ``webhook_max_attempts`` failed POSTs."""
        return list(self.webhook.dropped)

    def _remove_pending(self, update_id: int) -> bool:
        """Forget a pending update (delivered or given up); False if it was already gone."""
        for index, update in enumerate(self._updates):
            if update["update_id"] == update_id:
                del self._updates[index]
                self._poke()
                return True
        return False

    # ------------------------------------------------------------------ user-side setup

    def create_user(
        self,
        first_name: str = "Test",
        *,
        user_id: int | None = None,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        is_premium: bool = False,
        with_private_chat: bool = True,
    ) -> FakeUser:
        """A Telegram user (plus the private chat with the bot, already started)."""
        uid = user_id if user_id is not None else 100_000 + next(self._ids)
        if uid in self.users or uid == self.bot.id:
            raise ValueError(f"user id {uid} already exists")
        user = FakeUser(
            id=uid,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            is_premium=is_premium,
        )
        self.users[uid] = user
        if with_private_chat:
            self.create_private_chat(user)
        return user

    def create_private_chat(self, user: UserRef, *, started: bool = True) -> FakeChat:
        member = self._user(user)
        chat = self.chats.get(member.id)
        if chat is None:
            chat = FakeChat(id=member.id, type="private", started=started)
            self.chats[chat.id] = chat
        return chat

    def create_group(
        self,
        title: str,
        *,
        members: Iterable[UserRef] = (),
        admins: Iterable[UserRef] = (),
        creator: UserRef | None = None,
        supergroup: bool = False,
        username: str | None = None,
        bot_status: MemberStatus = "member",
        chat_id: int | None = None,
    ) -> FakeChat:
        """A group (or supergroup) with the bot already in it (``bot_status``)."""
        kind: ChatType = "supergroup" if supergroup else "group"
        new_id = chat_id if chat_id is not None else self._new_group_id(kind)
        if new_id in self.chats:
            raise ValueError(f"chat id {new_id} already exists")
        chat = FakeChat(id=new_id, type=kind, title=title, username=username, bot_status=bot_status)
        for ref in members:
            chat.members[self._user(ref).id] = "member"
        for ref in admins:
            chat.members[self._user(ref).id] = "administrator"
        if creator is not None:
            chat.members[self._user(creator).id] = "creator"
        self.chats[new_id] = chat
        return chat

    def create_supergroup(self, title: str, **kwargs: Any) -> FakeChat:
        return self.create_group(title, supergroup=True, **kwargs)

    def _new_group_id(self, kind: ChatType) -> int:
        n = next(self._ids)
        return -1_001_000_000_000 - n if kind == "supergroup" else -4_000_000_000 - n

    # ------------------------------------------------------------------ user-side actions

    def _store(self, message: FakeMessage) -> FakeMessage:
        self._messages.setdefault(message.chat_id, []).append(message)
        self._by_id[(message.chat_id, message.message_id)] = message
        return message

    def _new_message_id(self, chat_id: int) -> int:
        next_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = next_id + 1
        return next_id

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        allowed = self._allowed_updates
        if allowed is None and kind in _DEFAULT_EXCLUDED_UPDATES:
            return None
        if allowed is not None and kind not in allowed:
            return None
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self.updates_log.append(update)
        self._poke()
        return update

    def _bot_sees(self, chat: FakeChat, message: FakeMessage) -> bool:
        if chat.type == "private":
            return not self.users[chat.id].blocked_bot
        if chat.bot_status in ("left", "kicked"):
            return False
        if message.service or not self.privacy_mode or chat.bot_status == "administrator":
            return True
        me = (self.bot.username or "").lower()
        for entity in message.entities:
            if entity["type"] == "bot_command":
                _, _, addressee = message.entity_text(entity).partition("@")
                if not addressee or addressee.lower() == me:
                    return True
            if entity["type"] == "mention" and message.entity_text(entity)[1:].lower() == me:
                return True
        if message.reply_to_message_id is not None:
            replied = self._by_id.get((chat.id, message.reply_to_message_id))
            return replied is not None and replied.from_bot
        return False

    async def send_text(
        self, chat: ChatRef, user: UserRef, text: str, *, reply_to: int | None = None
    ) -> FakeMessage:
        """``user`` writes ``text`` in ``chat``; the bot gets a ``message`` update if it would."""
        target = self._chat(chat)
        sender = self._user(user)
        if target.type == "private":
            if target.id != sender.id:
                raise ValueError("only the chat's own user can write in a private chat")
            if sender.blocked_bot:
                raise ValueError("the user blocked the bot; call unblock_bot() first")
            target.started = True
        elif sender.id not in target.members or target.members[sender.id] in ("left", "kicked"):
            raise ValueError(f"user {sender.id} is not a member of chat {target.id}")
        if target.migrated_to is not None:
            raise ValueError(f"chat {target.id} was migrated to {target.migrated_to}")
        stripped = text.strip()
        if not stripped:
            raise ValueError("Telegram clients can't send empty messages")
        message = self._store(
            FakeMessage(
                chat_id=target.id,
                message_id=self._new_message_id(target.id),
                sender_id=sender.id,
                from_bot=False,
                date=_now(),
                text=stripped,
                entities=sort_entities(find_auto_entities(stripped, [])),
                reply_to_message_id=reply_to,
            )
        )
        if self._bot_sees(target, message):
            self._enqueue("message", self.message_dict(message))
        await self._emit(FakeEvent("message", target.id, message))
        return message

    async def start_bot(self, user: UserRef, payload: str | None = None) -> FakeMessage:
        """The user opens the bot (optionally via a t.me/bot?start=payload deep link)."""
        sender = self._user(user)
        chat = self.create_private_chat(sender)
        return await self.send_text(chat, sender, f"/start {payload}" if payload else "/start")

    async def press_button(
        self, chat: ChatRef, message_id: int, callback_data: str, user: UserRef
    ) -> str:
        """``user`` presses the inline button carrying ``callback_data``; returns the query id."""
        target = self._chat(chat)
        presser = self._user(user)
        message = self._by_id.get((target.id, message_id))
        if message is None or message.deleted:
            raise ValueError(f"no message {message_id} in chat {target.id}")
        if callback_data not in message.callback_data:
            raise ValueError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"it has {message.callback_data}"
            )
        query_id = str(4_000_000_000_000_000 + next(self._ids))
        payload: dict[str, Any] = {
            "id": query_id,
            "from": presser.to_dict(),
            "chat_instance": str(abs(target.id) * 7919 % 10**18),
            "data": callback_data,
        }
        if message.inline_message_id is not None and not message.from_bot:
            payload["inline_message_id"] = message.inline_message_id
        else:
            payload["message"] = self.message_dict(message)
        self.callback_queries[query_id] = CallbackQueryRecord(
            id=query_id,
            user_id=presser.id,
            chat_id=target.id,
            message_id=message_id,
            data=callback_data,
            created_at=_now(),
        )
        self._enqueue("callback_query", payload)
        await self._emit(FakeEvent("chat", target.id, message, {"callback_query": query_id}))
        return query_id

    async def inline_query(
        self, user: UserRef, query: str, *, chat_type: str | None = "private", offset: str = ""
    ) -> str:
        """``user`` types ``@bot query``; returns the inline query id."""
        sender = self._user(user)
        query_id = str(5_000_000_000_000_000 + next(self._ids))
        payload: dict[str, Any] = {
            "id": query_id,
            "from": sender.to_dict(),
            "query": query,
            "offset": offset,
        }
        if chat_type is not None:
            payload["chat_type"] = chat_type
        self.inline_queries[query_id] = InlineQueryRecord(
            id=query_id,
            user_id=sender.id,
            query=query,
            offset=offset,
            chat_type=chat_type,
            created_at=_now(),
        )
        self._enqueue("inline_query", payload)
        return query_id

    async def chosen_inline_result(
        self,
        user: UserRef,
        result_id: str,
        query: str = "",
        *,
        inline_query_id: str | None = None,
        chat: ChatRef | None = None,
    ) -> FakeMessage | None:
        """``user`` picks an inline result; with ``inline_query_id`` and ``chat`` the answered
        result's text is posted there (sent by the user "via" the bot)."""
        sender = self._user(user)
        payload: dict[str, Any] = {"result_id": result_id, "from": sender.to_dict(), "query": query}
        posted: FakeMessage | None = None
        if inline_query_id is not None:
            record = self.inline_queries[inline_query_id]
            payload["query"] = record.query
            result = next((r for r in record.results if r.get("id") == result_id), None)
            if result is None:
                raise ValueError(f"inline query {inline_query_id} has no result {result_id!r}")
            if chat is not None:
                posted = await self._post_inline_result(self._chat(chat), sender, result)
                if posted.inline_message_id is not None:
                    payload["inline_message_id"] = posted.inline_message_id
        self._enqueue("chosen_inline_result", payload)
        return posted

    async def _post_inline_result(
        self, chat: FakeChat, sender: FakeUser, result: dict[str, Any]
    ) -> FakeMessage:
        content = result.get("input_message_content") or {}
        markup = result.get("reply_markup")
        message = self._store(
            FakeMessage(
                chat_id=chat.id,
                message_id=self._new_message_id(chat.id),
                sender_id=sender.id,
                from_bot=False,
                via_bot=True,
                date=_now(),
                text=content.get("message_text"),
                entities=list(content.get("entities", [])),
                reply_markup=markup,
                inline_message_id=f"inline-{next(self._ids)}" if markup else None,
            )
        )
        if message.inline_message_id is not None:
            self._inline_messages[message.inline_message_id] = message
        await self._emit(FakeEvent("message", chat.id, message))
        return message

    async def _chat_member_update(
        self, chat: FakeChat, by: FakeUser, old: MemberStatus, new: MemberStatus
    ) -> None:
        payload = {
            "chat": self.chat_dict(chat),
            "from": by.to_dict(),
            "date": _ts(_now()),
            "old_chat_member": self._member_dict(self.bot_dict(), old),
            "new_chat_member": self._member_dict(self.bot_dict(), new),
        }
        self._enqueue("my_chat_member", payload)
        await self._emit(FakeEvent("chat", chat.id, None, {"bot_status": new}))

    async def _service_message(
        self, chat: FakeChat, by: FakeUser, service: dict[str, Any]
    ) -> FakeMessage:
        message = self._store(
            FakeMessage(
                chat_id=chat.id,
                message_id=self._new_message_id(chat.id),
                sender_id=by.id,
                from_bot=False,
                date=_now(),
                service=service,
            )
        )
        if self._bot_sees(chat, message):
            self._enqueue("message", self.message_dict(message))
        await self._emit(FakeEvent("message", chat.id, message))
        return message

    async def add_bot_to_group(
        self, chat: ChatRef, by_user: UserRef, *, as_admin: bool = False
    ) -> None:
        target = self._chat(chat)
        adder = self._user(by_user)
        old = target.bot_status
        target.bot_status = "administrator" if as_admin else "member"
        await self._chat_member_update(target, adder, old, target.bot_status)
        await self._service_message(target, adder, {"new_chat_members": [self.bot_dict()]})

    async def remove_bot_from_group(self, chat: ChatRef, by_user: UserRef) -> None:
        target = self._chat(chat)
        old = target.bot_status
        target.bot_status = "kicked"
        await self._chat_member_update(target, self._user(by_user), old, "kicked")

    async def block_bot(self, user: UserRef) -> None:
        blocker = self._user(user)
        chat = self.create_private_chat(blocker)
        blocker.blocked_bot = True
        chat.bot_status = "kicked"
        await self._chat_member_update(chat, blocker, "member", "kicked")

    async def unblock_bot(self, user: UserRef) -> None:
        blocker = self._user(user)
        chat = self.create_private_chat(blocker)
        blocker.blocked_bot = False
        chat.bot_status = "member"
        await self._chat_member_update(chat, blocker, "kicked", "member")

    async def deactivate_user(self, user: UserRef) -> None:
        self._user(user).deactivated = True
        await self._emit(FakeEvent("chat", self._user(user).id, None, {"deactivated": True}))

    async def migrate_group(self, chat: ChatRef, by_user: UserRef | None = None) -> int:
        """Upgrade a group to a supergroup; returns the new chat id."""
        old = self._chat(chat)
        if old.type != "group" or old.migrated_to is not None:
            raise ValueError(f"chat {old.id} is not a basic group")
        new = self.create_group(
            old.title or "",
            supergroup=True,
            username=old.username,
            bot_status=old.bot_status,
        )
        new.members = dict(old.members)
        new.migrated_from = old.id
        actor_id = (
            self._user(by_user).id
            if by_user is not None
            else next((u for u, s in old.members.items() if s == "creator"), None)
        )
        actor = self.users.get(actor_id) if actor_id is not None else None
        if actor is not None:
            await self._service_message(old, actor, {"migrate_to_chat_id": new.id})
        old.migrated_to = new.id
        if actor is not None:
            await self._service_message(new, actor, {"migrate_from_chat_id": old.id})
        await self._emit(FakeEvent("chat", old.id, None, {"migrated_to": new.id}))
        return new.id

    def close(self) -> None:
        """Release long polls and hanging requests, stop webhook delivery (server shutdown)."""
        self._closing = True
        self.webhook.cancel()
        self._poke()

    async def stop_webhook_delivery(self) -> None:
        """Wait until the webhook delivery task stopped by ``close()`` has finished."""
        await self.webhook.stop()

    def reopen(self) -> None:
        self._closing = False
        self.webhook.ensure_running()  # a webhook set before a restart is pushed to again

    @property
    def closing(self) -> bool:
        return self._closing

    async def wait_closing(self, timeout: float | None) -> None:  # noqa: ASYNC109
        """Return when close() is called or after ``timeout`` seconds (None: forever)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self._closing:
            changed = self._changed
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return

    # ------------------------------------------------------------------ Bot API methods

    async def _api_getme(self, p: Params) -> Any:
        data = self.bot_dict()
        data.update(
            can_join_groups=True,
            can_read_all_group_messages=not self.privacy_mode,
            supports_inline_queries=True,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return data

    async def _api_getupdates(self, p: Params) -> Any:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = p.get_int("offset")
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(p.get_float("timeout") or 0.0, 0.0)
        allowed = p.get_json("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise bad_request("can't parse allowed_updates JSON array")
            self._allowed_updates = frozenset(allowed) if allowed else None
        if offset is not None:
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        # A newer getUpdates call terminates an older one, like on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._poke()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            if self._updates or self._closing:
                return self._updates[:limit]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            self.long_polls_waiting += 1
            self._poke()  # tell waiters (tests) a long poll is parked
            changed = self._changed  # captured after our own poke, or we would spin
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
            finally:
                self.long_polls_waiting -= 1

    async def _api_deletewebhook(self, p: Params) -> Any:
        # Undelivered updates stay pending and are returned by getUpdates from now on.
        self.webhook.clear()
        if p.get_bool("drop_pending_updates"):
            self._updates.clear()
        self._poke()
        return True

    async def _api_setwebhook(self, p: Params) -> Any:
        url = (p.get_str("url") or "").strip()
        if not url:  # an empty URL removes the webhook
            return await self._api_deletewebhook(p)
        check_webhook_url(url, allow_non_loopback=self.allow_non_loopback_webhooks)
        secret = p.get_str("secret_token") or None
        if secret is not None:
            check_secret_token(secret)
        max_connections = p.get_int("max_connections")
        if max_connections is not None and not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = p.get_json("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise bad_request("can't parse allowed_updates JSON array")
            self._allowed_updates = frozenset(allowed) if allowed else None
        if p.get_bool("drop_pending_updates"):
            self._updates.clear()
        self.webhook.configure(url, secret, max_connections)
        self._poke()
        return True

    async def _api_getwebhookinfo(self, p: Params) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url and self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        info.update(self.webhook.info())
        return info

    def _command_scope(self, p: Params) -> CommandScopeKey:
        scope = p.get_json("scope", "BotCommandScope")
        if scope is None:
            return ("default", None, None)
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        kind = str(scope["type"])
        chat_id: int | None = None
        user_id: int | None = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat = self._lookup_chat(scope.get("chat_id"))
            if chat is None:
                raise bad_request("chat not found")
            chat_id = chat.id
        if kind == "chat_member":
            user_id = int(scope.get("user_id", 0))
            if user_id not in self.users:
                raise bad_request("user not found")
        return (kind, chat_id, user_id)

    def _language(self, p: Params) -> str:
        language = p.get_str("language_code") or ""
        if language and not (len(language) == 2 and language.isalpha()):
            raise bad_request("invalid language code specified")
        return language

    async def _api_setmycommands(self, p: Params) -> Any:
        commands = p.get_json("commands", "commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON array")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        cleaned: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name = str(item.get("command", ""))
            description = str(item.get("description", ""))
            if (
                not 1 <= len(name) <= 32
                or not all(c.islower() or c.isdigit() or c == "_" for c in name)
                or not name.isascii()
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = (self._command_scope(p), self._language(p))
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        await self._emit(FakeEvent("commands", None, None, {"scope": key[0], "language": key[1]}))
        return True

    async def _api_getmycommands(self, p: Params) -> Any:
        return list(self.commands.get((self._command_scope(p), self._language(p)), []))

    async def _api_deletemycommands(self, p: Params) -> Any:
        key = (self._command_scope(p), self._language(p))
        self.commands.pop(key, None)
        await self._emit(FakeEvent("commands", None, None, {"scope": key[0], "language": key[1]}))
        return True

    async def _api_sendmessage(self, p: Params) -> Any:
        chat = self._resolve_chat(p, write=True)
        text, entities = self.format_text(
            p.get_str("text"), p.get_str("parse_mode"), p.get_json("entities", "entities")
        )
        markup = self.validate_reply_markup(p.get_json("reply_markup", "reply keyboard markup"))
        reply_to = self._reply_target(chat, p)
        message = self._store(
            FakeMessage(
                chat_id=chat.id,
                message_id=self._new_message_id(chat.id),
                sender_id=self.bot.id,
                from_bot=True,
                date=_now(),
                text=text,
                entities=entities,
                reply_markup=markup,
                reply_to_message_id=reply_to,
                params=dict(p.raw),
            )
        )
        await self._emit(FakeEvent("message", chat.id, message))
        return self.message_dict(message)

    def _reply_target(self, chat: FakeChat, p: Params) -> int | None:
        reply = p.get_json("reply_parameters", "ReplyParameters")
        message_id = p.get_int("reply_to_message_id")
        allow_missing = p.get_bool("allow_sending_without_reply")
        if isinstance(reply, dict):
            message_id = int(reply.get("message_id", 0))
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        if message_id is None:
            return None
        target = self._by_id.get((chat.id, message_id))
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return message_id

    def _edit_target(self, p: Params) -> tuple[FakeMessage, bool]:
        """(message, is_inline) for editMessage*; errors like Telegram's."""
        inline_id = p.get_str("inline_message_id")
        if inline_id:
            found = self._inline_messages.get(inline_id)
            if found is None or found.deleted:
                raise bad_request("MESSAGE_ID_INVALID")
            return found, True
        if not p.present("chat_id"):
            raise bad_request(
                "chat_id is empty"
                if p.present("message_id")
                else "message identifier is not specified"
            )
        chat = self._resolve_chat(p, write=True)
        if not p.present("message_id"):
            raise bad_request("message identifier is not specified")
        message = self._find_message(chat, p.get_int("message_id"), "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message, False

    async def _apply_edit(
        self,
        message: FakeMessage,
        text: str | None,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
        params: dict[str, Any],
    ) -> None:
        if (text, entities, markup) == (message.text, message.entities, message.reply_markup):
            raise bad_request(_NOT_MODIFIED)
        message.history.append(
            MessageVersion(
                text=message.text,
                entities=message.entities,
                reply_markup=message.reply_markup,
                date=message.edit_date or message.date,
            )
        )
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.edit_date = _now()
        message.params = params
        await self._emit(FakeEvent("edit", message.chat_id, message))

    async def _api_editmessagetext(self, p: Params) -> Any:
        message, inline = self._edit_target(p)
        text, entities = self.format_text(
            p.get_str("text"),
            p.get_str("parse_mode"),
            p.get_json("entities", "entities"),
            long_error="MESSAGE_TOO_LONG",
        )
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        # Like Telegram: omitting reply_markup removes the inline keyboard.
        markup = self.validate_reply_markup(p.get_json("reply_markup", "reply keyboard markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        await self._apply_edit(message, text, entities, markup, dict(p.raw))
        return True if inline else self.message_dict(message)

    async def _api_editmessagereplymarkup(self, p: Params) -> Any:
        message, inline = self._edit_target(p)
        markup = self.validate_reply_markup(p.get_json("reply_markup", "reply keyboard markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        await self._apply_edit(message, message.text, message.entities, markup, dict(p.raw))
        return True if inline else self.message_dict(message)

    def _can_delete(self, chat: FakeChat, message: FakeMessage) -> bool:
        return message.from_bot or chat.type == "private" or chat.bot_status == "administrator"

    async def _api_deletemessage(self, p: Params) -> Any:
        chat = self._resolve_chat(p, write=False)
        message = self._find_message(chat, p.get_int("message_id"), "message to delete not found")
        if not self._can_delete(chat, message):
            raise bad_request("message can't be deleted")
        message.deleted = True
        await self._emit(FakeEvent("delete", chat.id, message))
        return True

    async def _api_deletemessages(self, p: Params) -> Any:
        chat = self._resolve_chat(p, write=False)
        ids = p.get_json("message_ids", "message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must contain 1-100 message identifiers")
        for message_id in ids:
            message = self._by_id.get((chat.id, int(message_id)))
            if message is not None and not message.deleted and self._can_delete(chat, message):
                message.deleted = True
                await self._emit(FakeEvent("delete", chat.id, message))
        return True

    async def _api_answercallbackquery(self, p: Params) -> Any:
        query_id = p.get_str("callback_query_id") or ""
        record = self.callback_queries.get(query_id)
        if record is None or record.answered:
            raise bad_request(_QUERY_INVALID)
        text = p.get_str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answered = True
        record.answered_at = _now()
        record.text = text
        record.show_alert = p.get_bool("show_alert")
        record.url = p.get_str("url")
        record.cache_time = p.get_int("cache_time")
        await self._emit(FakeEvent("callback_answer", record.chat_id, None, {"query_id": query_id}))
        return True

    async def _api_answerinlinequery(self, p: Params) -> Any:
        query_id = p.get_str("inline_query_id") or ""
        record = self.inline_queries.get(query_id)
        if record is None or record.answered:
            raise bad_request(_QUERY_INVALID)
        results = p.get_json("results", "results")
        if not isinstance(results, list):
            raise bad_request("can't parse results JSON array")
        if len(results) > 50:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        cleaned: list[dict[str, Any]] = []
        for result in results:
            if not isinstance(result, dict) or not isinstance(result.get("type"), str):
                raise bad_request("can't parse InlineQueryResult JSON object")
            result_id = result.get("id")
            if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= 64:
                raise bad_request("RESULT_ID_INVALID")
            if result_id in seen:
                raise bad_request("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            cleaned.append(self._validate_inline_result(result))
        record.answered = True
        record.answered_at = _now()
        record.results = cleaned
        record.cache_time = p.get_int("cache_time")
        record.is_personal = p.get_bool("is_personal")
        record.next_offset = p.get_str("next_offset")
        record.button = p.get_json("button", "InlineQueryResultsButton")
        await self._emit(FakeEvent("inline_answer", None, None, {"query_id": query_id}))
        return True

    def _validate_inline_result(self, result: dict[str, Any]) -> dict[str, Any]:
        cleaned = dict(result)
        if result["type"] == "article" and not str(result.get("title", "")).strip():
            raise bad_request("ARTICLE_TITLE_EMPTY")
        content = result.get("input_message_content")
        if result["type"] == "article" and not isinstance(content, dict):
            raise bad_request("can't parse InputMessageContent JSON object")
        if isinstance(content, dict) and "message_text" in content:
            text, entities = self.format_text(
                content.get("message_text"),
                content.get("parse_mode"),
                content.get("entities"),
                empty_error="MESSAGE_EMPTY",
                long_error="MESSAGE_TOO_LONG",
            )
            cleaned["input_message_content"] = {
                **content,
                "message_text": text,
                "entities": entities,
            }
        if "reply_markup" in result:
            markup = self.validate_reply_markup(result["reply_markup"])
            if markup is None or "inline_keyboard" not in markup:
                raise bad_request("inline keyboard expected")
            cleaned["reply_markup"] = markup
        return cleaned

    async def _api_getchat(self, p: Params) -> Any:
        chat = self._resolve_chat(p, write=False)
        data = self.chat_dict(chat)
        data.update(accent_color_id=0, max_reaction_count=11, accepted_gift_types=_NO_GIFTS)
        if chat.type == "private":
            return data
        data["permissions"] = {"can_send_messages": True}
        return data

    def _member_status(self, chat: FakeChat, user_id: int) -> MemberStatus:
        if user_id == self.bot.id:
            return chat.bot_status
        if chat.type == "private":
            if user_id != chat.id:
                raise bad_request("PARTICIPANT_ID_INVALID")
            return "member"
        return chat.members.get(user_id, "left")

    async def _api_getchatmember(self, p: Params) -> Any:
        chat = self._resolve_chat(p, write=False)
        user_id = p.get_int("user_id")
        if user_id is None:
            raise bad_request("user_id is empty")
        if user_id != self.bot.id and user_id not in self.users:
            raise bad_request("user not found")
        user = self.bot_dict() if user_id == self.bot.id else self.users[user_id].to_dict()
        return self._member_dict(user, self._member_status(chat, user_id))

    async def _api_getchatadministrators(self, p: Params) -> Any:
        chat = self._resolve_chat(p, write=False)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        admins = [
            self._member_dict(self.users[uid].to_dict(), status)
            for uid, status in chat.members.items()
            if status in ("creator", "administrator")
        ]
        if chat.bot_status == "administrator":
            admins.append(self._member_dict(self.bot_dict(), "administrator"))
        return admins

    async def _api_getchatmembercount(self, p: Params) -> Any:
        chat = self._resolve_chat(p, write=False)
        if chat.type == "private":
            return 2
        present = ("creator", "administrator", "member", "restricted")
        humans = sum(1 for status in chat.members.values() if status in present)
        return humans + (1 if chat.bot_status in present else 0)

    async def _api_sendchataction(self, p: Params) -> Any:
        self._resolve_chat(p, write=True)
        if p.get_str("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def _api_setchatmenubutton(self, p: Params) -> Any:
        chat_id = p.get_int("chat_id")
        if chat_id is not None and chat_id not in self.chats:
            raise bad_request("chat not found")
        button = p.get_json("menu_button", "MenuButton") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise bad_request("can't parse MenuButton JSON object")
        self.menu_buttons[chat_id] = button
        return True

    async def _api_getchatmenubutton(self, p: Params) -> Any:
        return self.menu_buttons.get(p.get_int("chat_id"), {"type": "commands"})

    async def _store_setting(self, name: str, p: Params) -> Any:
        self.bot_settings[(name, self._language(p))] = dict(p.raw)
        return True

    async def _api_setmydescription(self, p: Params) -> Any:
        return await self._store_setting("description", p)

    async def _api_setmyshortdescription(self, p: Params) -> Any:
        return await self._store_setting("short_description", p)

    async def _api_setmyname(self, p: Params) -> Any:
        return await self._store_setting("name", p)

    async def _api_close(self, p: Params) -> Any:
        return True

    async def _api_logout(self, p: Params) -> Any:
        return True
