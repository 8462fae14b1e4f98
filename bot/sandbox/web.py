"""The web chat's HTTP side: static page, JSON API under ``/sandbox/api/`` and an event stream.

Everything acts through the emulator's user-side API (``FakeTelegram.send_text``,
``press_button``, ``inline_query`` ...), so the bot sees exactly what Telegram would send it.
One module for the web chat's whole HTTP surface (slightly over 400 lines), so its security
headers, input checks and JSON shapes are reviewed in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tornado.iostream
import tornado.web

from bot.emulator import FakeChat, FakeEvent, FakeMessage, FakeUser
from bot.rules import MESSAGE_LIMIT

if TYPE_CHECKING:
    from bot.sandbox import Sandbox

STATIC_DIR = Path(__file__).resolve().parent / "static"
ANSWER_TIMEOUT = 15.0
HEARTBEAT_SECONDS = 15.0
# Telegram ``language_code`` values a web-chat user may pick: what real clients send, not the
# product's languages (``bot.rules.LANGUAGES``); the bot maps them with ``language_from_code``.
TELEGRAM_LANGUAGES = ("en", "zh-hans", "zh-hant")
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class ApiFailure(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- JSON shapes ----------------------------------------------------------------------------


def user_json(user: FakeUser) -> dict[str, Any]:
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    return {
        "id": user.id,
        "name": name,
        "first_name": user.first_name,
        "language_code": user.language_code,
        "is_bot": user.is_bot,
    }


def chat_json(chat: FakeChat, sandbox: Sandbox) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": chat.id,
        "type": chat.type,
        "bot_status": chat.bot_status,
        "migrated_to": chat.migrated_to,
    }
    if chat.type == "private":
        user = sandbox.fake.users.get(chat.id)
        data["title"] = user_json(user)["name"] if user else str(chat.id)
        data["members"] = {str(chat.id): "member"}
    else:
        data["title"] = chat.title or str(chat.id)
        data["members"] = {str(uid): status for uid, status in chat.members.items()}
    return data


def message_json(message: FakeMessage, sandbox: Sandbox) -> dict[str, Any]:
    fake = sandbox.fake
    sender = fake.bot if message.from_bot else fake.users.get(message.sender_id)
    return {
        "chat_id": message.chat_id,
        "message_id": message.message_id,
        "from_bot": message.from_bot,
        "sender": user_json(sender) if sender else {"id": message.sender_id, "name": "?"},
        "via_bot": fake.bot.username if message.via_bot else None,
        "date": message.date.isoformat(),
        "edit_date": message.edit_date.isoformat() if message.edit_date else None,
        "text": message.text,
        "entities": message.entities,
        # A rich message: HTML the emulator validated and re-serialised (allowed tags only);
        # the page still rebuilds it element by element from the same allow-list.
        "rich_html": message.rich_html,
        "reply_markup": message.reply_markup,
        "reply_to_message_id": message.reply_to_message_id,
        "deleted": message.deleted,
        "service": message.service,
    }


def event_json(event: FakeEvent, sandbox: Sandbox) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "chat_id": event.chat_id,
        "message": message_json(event.message, sandbox) if event.message else None,
        "data": dict(event.data),
    }


def _dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


# --- handlers -------------------------------------------------------------------------------


class _Base(tornado.web.RequestHandler):
    sandbox: Sandbox

    def initialize(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def set_default_headers(self) -> None:
        for name, value in _SECURITY_HEADERS.items():
            self.set_header(name, value)

    def prepare(self) -> None:
        # DNS rebinding: on loopback only loopback host names reach the page and the API.
        if not self.sandbox.options.allow_remote:
            host = self.request.host_name
            if host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
                raise tornado.web.HTTPError(421)


class _Page(_Base):
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish((STATIC_DIR / "index.html").read_bytes())


class _Static(_Base, tornado.web.StaticFileHandler):
    def initialize(self, sandbox: Sandbox, path: str) -> None:  # type: ignore[override]
        _Base.initialize(self, sandbox)
        tornado.web.StaticFileHandler.initialize(self, path=path)

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")


class _Api(_Base):
    def check_xsrf_cookie(self) -> None:
        return None

    def write_json(self, data: object, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(_dumps(data))

    def body(self) -> dict[str, Any]:
        # JSON only: a cross-site form cannot send it without a CORS preflight we never allow.
        if not self.request.headers.get("Content-Type", "").startswith("application/json"):
            raise ApiFailure(415, "send application/json")
        try:
            data = json.loads(self.request.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiFailure(400, "invalid JSON") from None
        if not isinstance(data, dict):
            raise ApiFailure(400, "expected a JSON object")
        return data

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.write_json({"error": self._reason}, status_code)

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, ApiFailure):
            self.write_json({"error": str(e)}, e.status)
            return
        if isinstance(e, LookupError):
            self.write_json({"error": str(e).strip("'\"")}, 404)
            return
        if isinstance(e, ValueError):  # the emulator refusing a user action
            self.write_json({"error": str(e)}, 400)
            return
        if isinstance(e, TimeoutError):
            self.write_json({"error": "the bot did not answer in time"}, 504)
            return
        super()._handle_request_exception(e)


def _int(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ApiFailure(400, f"{name} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise ApiFailure(400, f"{name} must be an integer") from None


def _text(
    data: dict[str, Any], name: str, *, limit: int = MESSAGE_LIMIT, required: bool = True
) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise ApiFailure(400, f"{name} must be a string")
    value = value.strip()
    if required and not value:
        raise ApiFailure(400, f"{name} is required")
    if len(value) > limit:
        raise ApiFailure(400, f"{name} is longer than {limit} characters")
    return value


class _State(_Api):
    def get(self) -> None:
        fake = self.sandbox.fake
        self.write_json(
            {
                "bot": user_json(fake.bot) | {"username": fake.bot.username},
                "users": [user_json(u) for u in fake.users.values()],
                "chats": [chat_json(c, self.sandbox) for c in fake.chats.values()],
            }
        )


class _Users(_Api):
    def post(self) -> None:
        data = self.body()
        name = _text(data, "first_name", limit=64)
        language = data.get("language_code") or "en"
        if language not in TELEGRAM_LANGUAGES:
            raise ApiFailure(400, f"language_code must be one of {', '.join(TELEGRAM_LANGUAGES)}")
        user = self.sandbox.fake.create_user(name, language_code=str(language))
        self.write_json({"user": user_json(user)}, 201)


class _Groups(_Api):
    async def post(self) -> None:
        data = self.body()
        title = _text(data, "title", limit=128)
        sandbox = self.sandbox
        adder = sandbox.user(_int(data, "added_by"))
        admins = {sandbox.user(_int({"id": m}, "id")).id for m in data.get("admins") or []}
        members = {sandbox.user(_int({"id": m}, "id")).id for m in data.get("members") or []}
        members = (members | {adder.id}) - admins
        fake = sandbox.fake
        chat = fake.create_group(title, members=members, admins=admins, bot_status="left")
        # A member adds the bot, as in Telegram: my_chat_member + a service message.
        await fake.add_bot_to_group(chat, adder)
        self.write_json({"chat": chat_json(chat, sandbox)}, 201)


class _Messages(_Api):
    def get(self, chat_id: str) -> None:
        chat = self.sandbox.chat(int(chat_id))
        messages = self.sandbox.fake.messages(chat)
        self.write_json({"messages": [message_json(m, self.sandbox) for m in messages]})

    async def post(self, chat_id: str) -> None:
        data = self.body()
        chat = self.sandbox.chat(int(chat_id))
        user = self.sandbox.user(_int(data, "user_id"))
        reply_to = data.get("reply_to")
        message = await self.sandbox.fake.send_text(
            chat,
            user,
            _text(data, "text"),
            reply_to=_int(data, "reply_to") if reply_to is not None else None,
        )
        self.write_json({"message": message_json(message, self.sandbox)}, 201)


class _Press(_Api):
    async def post(self, chat_id: str) -> None:
        data = self.body()
        chat = self.sandbox.chat(int(chat_id))
        user = self.sandbox.user(_int(data, "user_id"))
        fake = self.sandbox.fake
        query_id = await fake.press_button(
            chat, _int(data, "message_id"), _text(data, "data", limit=256), user
        )
        answer = await fake.wait_for_callback_answer(query_id, timeout=ANSWER_TIMEOUT)
        self.write_json(
            {"query_id": query_id, "text": answer.text, "show_alert": answer.show_alert}
        )


def _chat_type_for_inline(chat: FakeChat, user: FakeUser) -> str:
    if chat.type == "private":
        return "sender" if chat.id == user.id else "private"
    return chat.type


class _Inline(_Api):
    async def post(self) -> None:
        data = self.body()
        user = self.sandbox.user(_int(data, "user_id"))
        chat = self.sandbox.chat(_int(data, "chat_id"))
        query = _text(data, "query", limit=256, required=False)
        fake = self.sandbox.fake
        query_id = await fake.inline_query(user, query, chat_type=_chat_type_for_inline(chat, user))
        answer = await fake.wait_for_inline_answer(query_id, timeout=ANSWER_TIMEOUT)
        results = []
        for result in answer.results:
            content = result.get("input_message_content") or {}
            results.append(
                {
                    "id": result.get("id"),
                    "type": result.get("type"),
                    "title": result.get("title"),
                    "description": result.get("description"),
                    "text": content.get("message_text"),
                }
            )
        self.write_json({"query_id": query_id, "query": query, "results": results})


class _InlineChoose(_Api):
    async def post(self) -> None:
        data = self.body()
        user = self.sandbox.user(_int(data, "user_id"))
        chat = self.sandbox.chat(_int(data, "chat_id"))
        if chat.type != "private" and user.id not in chat.members:
            raise ApiFailure(400, "the user is not a member of this chat")
        if chat.type == "private" and chat.id != user.id:
            raise ApiFailure(400, "only the chat's own user can write in a private chat")
        posted = await self.sandbox.fake.chosen_inline_result(
            user,
            _text(data, "result_id", limit=64),
            inline_query_id=_text(data, "query_id", limit=64),
            chat=chat,
        )
        self.write_json({"message": message_json(posted, self.sandbox) if posted else None}, 201)


class _Deliver(_Api):
    async def post(self, chat_id: str) -> None:
        data = self.body()
        result = await self.sandbox.deliver_now(int(chat_id), _int(data, "user_id"))
        self.write_json(result)


class _Events(_Base):
    """Server-sent events: one JSON object per emulator event (messages, edits, answers)."""

    def initialize(self, sandbox: Sandbox) -> None:
        super().initialize(sandbox)
        self._gone = asyncio.Event()

    def on_connection_close(self) -> None:
        self._gone.set()

    async def get(self) -> None:
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        queue: asyncio.Queue[str] = asyncio.Queue()
        sandbox = self.sandbox

        def listener(event: FakeEvent) -> None:
            queue.put_nowait(_dumps(event_json(event, sandbox)))

        remove = sandbox.fake.add_listener(listener)
        stoppers = [
            asyncio.ensure_future(self._gone.wait()),
            asyncio.ensure_future(sandbox.closing.wait()),
        ]
        try:
            self.write("retry: 1000\n: connected\n\n")
            await self.flush()
            while not self._gone.is_set() and not sandbox.closing.is_set():
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {getter, *stoppers},
                    timeout=HEARTBEAT_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if getter in done:
                    self.write(f"data: {getter.result()}\n\n")
                else:
                    getter.cancel()
                    self.write(": ping\n\n")
                await self.flush()
        except tornado.iostream.StreamClosedError:
            pass
        finally:
            remove()
            for stopper in stoppers:
                stopper.cancel()
        with contextlib.suppress(tornado.iostream.StreamClosedError):
            self.finish()


def web_handlers(sandbox: Sandbox) -> list[Any]:
    """Tornado rules for the sandbox, mounted next to the emulator's Bot API."""
    args = {"sandbox": sandbox}
    api = r"/sandbox/api"
    return [
        (r"/", _Page, args),
        (r"/static/(.*)", _Static, {**args, "path": str(STATIC_DIR)}),
        (rf"{api}/state", _State, args),
        (rf"{api}/users", _Users, args),
        (rf"{api}/groups", _Groups, args),
        (rf"{api}/chats/(-?\d+)/messages", _Messages, args),
        (rf"{api}/chats/(-?\d+)/press", _Press, args),
        (rf"{api}/chats/(-?\d+)/deliver", _Deliver, args),
        (rf"{api}/inline", _Inline, args),
        (rf"{api}/inline/choose", _InlineChoose, args),
        (rf"{api}/events", _Events, args),
    ]
