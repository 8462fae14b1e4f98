"""The fake's state: users, chats, messages, pending updates, the change signal, lookups.

``ChatStore`` is the base every Bot API family (``api_*.py``) and the user side (``users.py``,
``membership.py``) build on; it also renders its objects as Bot API JSON (``chat_dict``,
``message_dict``), since every family answers with them.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
from collections.abc import Callable
from typing import Any

from .errors import bad_request, forbidden
from .limits import FaultInjector, FloodLimiter
from .models import (
    ApiRequest,
    CallbackQueryRecord,
    FakeChat,
    FakeEvent,
    FakeMessage,
    FakeUser,
    InlineQueryRecord,
    Listener,
    MemberStatus,
)
from .params import Params, unix_ts
from .webhook import WebhookPusher

logger = logging.getLogger(__name__)

UserRef = FakeUser | int
ChatRef = FakeChat | FakeUser | int  # a FakeUser means their private chat
CommandScopeKey = tuple[str, int | None, int | None]


# Everything a restricted member may not do (getChatMember lists each permission).
_RESTRICTED_DENIED = (
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_send_messages",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_manage_topics",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_edit_tag",
)


class ChatStore:
    """In-memory Telegram state shared by every part of ``FakeTelegram``."""

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
        rich_messages: bool = True,
    ) -> None:
        """``webhook_*``: how a set webhook is pushed to — attempts per update (then it is
        given up), the first retry delay (doubling up to the maximum), the POST timeout. Only
        loopback webhook URLs are accepted unless ``allow_non_loopback_webhooks``.
        ``rich_messages=False`` behaves like a Bot API server older than 10.1 (no
        ``sendRichMessage``: 404 "Not Found")."""
        bot_id_text, sep, _ = token.partition(":")
        if not sep or not bot_id_text.isdigit():
            raise ValueError("token must look like '<bot id>:<secret>'")
        self.token = token
        self.bot = FakeUser(id=int(bot_id_text), first_name=bot_first_name, username=bot_username)
        self.bot.is_bot = True
        # Privacy mode: in groups the bot only sees commands, replies to it and mentions.
        self.privacy_mode = privacy_mode
        self.strict_html_ampersand = strict_html_ampersand
        self.rich_messages = rich_messages
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

    @property
    def bot_id(self) -> int:
        return self.bot.id

    def bot_dict(self) -> dict[str, Any]:
        return self.bot.to_dict()

    # ------------------------------------------------------------------ lookup and Bot API JSON

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
            if chat.type == "channel" and write and not self._bot_posts(chat):
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
            if chat.is_forum:
                data["is_forum"] = True
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
            "date": unix_ts(message.date),
        }
        if message.rich is not None:
            data["rich_message"] = message.rich
        elif message.text is not None:
            data["text"] = message.text
            if message.entities:
                data["entities"] = message.entities
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.message_thread_id is not None:
            data.update(message_thread_id=message.message_thread_id, is_topic_message=True)
        if message.edit_date is not None:
            data["edit_date"] = unix_ts(message.edit_date)
        if message.via_bot:
            data["via_bot"] = self.bot_dict()
        if message.reply_to_message_id is not None and not nested:
            replied = self._by_id.get((message.chat_id, message.reply_to_message_id))
            if replied is not None and not replied.deleted:
                data["reply_to_message"] = self.message_dict(replied, nested=True)
        if message.service:
            data.update(message.service)
        return data

    @staticmethod
    def _bot_posts(chat: FakeChat) -> bool:
        return chat.bot_status == "administrator" and chat.bot_can_post

    def _member_dict(
        self, user: dict[str, Any], status: MemberStatus, *, can_post: bool | None = None
    ) -> dict[str, Any]:
        """``can_post``: a channel administrator's right to post (channels only)."""
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
            if can_post is not None:
                data.update(can_post_messages=can_post, can_edit_messages=can_post)
        elif status == "kicked":
            data["until_date"] = 0
        elif status == "restricted":
            data.update(dict.fromkeys(_RESTRICTED_DENIED, False), is_member=True, until_date=0)
        return data

    def _find_message(self, chat: FakeChat, message_id: int | None, error: str) -> FakeMessage:
        message = self._by_id.get((chat.id, message_id)) if message_id is not None else None
        if message is None or message.deleted:
            raise bad_request(error)
        return message

    # ------------------------------------------------------------------ the change signal

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` (sync or async) on every change; returns an unsubscribe."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def poke(self) -> None:
        # Wake every waiter; they re-check their condition against the new state.
        self._changed.set()
        self._changed = asyncio.Event()

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def changed(self) -> asyncio.Event:
        """Set (then replaced) on every change: capture it, check state, then wait on it."""
        return self._changed

    async def _emit(self, event: FakeEvent) -> None:
        self.poke()
        for listener in list(self._listeners):
            try:
                outcome = listener(event)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                logger.exception("fake Telegram listener failed on %s", event.kind)

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

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet fetched with getUpdates, or not yet delivered to the webhook."""
        return list(self._updates)

    def remove_pending(self, update_id: int) -> bool:
        """Forget a pending update (delivered or given up); False if it was already gone."""
        for index, update in enumerate(self._updates):
            if update["update_id"] == update_id:
                del self._updates[index]
                self.poke()
                return True
        return False

    # ------------------------------------------------------------------ storing messages

    def _store(self, message: FakeMessage) -> FakeMessage:
        self._messages.setdefault(message.chat_id, []).append(message)
        self._by_id[(message.chat_id, message.message_id)] = message
        return message

    def _new_message_id(self, chat_id: int) -> int:
        next_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = next_id + 1
        return next_id
