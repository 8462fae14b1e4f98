"""Plain data kept by the fake: users, chats, messages, queries, events, the request log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ChatType = Literal["private", "group", "supergroup", "channel"]
MemberStatus = Literal["creator", "administrator", "member", "restricted", "left", "kicked"]
EventKind = Literal[
    "message", "edit", "delete", "callback_answer", "inline_answer", "chat", "commands"
]


@dataclass
class FakeUser:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    is_premium: bool = False
    blocked_bot: bool = False
    deactivated: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        if self.is_premium:
            data["is_premium"] = True
        return data


@dataclass
class FakeChat:
    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    # Human members only; the bot's own membership is ``bot_status``.
    members: dict[int, MemberStatus] = field(default_factory=dict)
    bot_status: MemberStatus = "member"
    started: bool = True  # private chats: the user pressed Start (bots can't write first)
    migrated_to: int | None = None
    migrated_from: int | None = None
    bot_can_post: bool = True  # channels: the bot administrator's can_post_messages
    is_forum: bool = False  # supergroups with topics
    # Forum topics by message_thread_id: "open", "closed" or "deleted".
    topics: dict[int, str] = field(default_factory=dict)

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")


@dataclass(frozen=True)
class MessageVersion:
    """A previous state of an edited message."""

    text: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    date: datetime


@dataclass
class FakeMessage:
    chat_id: int
    message_id: int
    sender_id: int
    from_bot: bool
    date: datetime
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    edit_date: datetime | None = None
    history: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False
    via_bot: bool = False
    inline_message_id: str | None = None
    service: dict[str, Any] | None = None  # e.g. {"new_chat_members": [...]}
    params: dict[str, Any] = field(default_factory=dict)  # raw API params of the last send/edit
    # A rich message (sendRichMessage): its RichMessage object and its validated HTML; ``text``
    # then holds the plain text, for tests and the sandbox to read.
    rich: dict[str, Any] | None = None
    message_thread_id: int | None = None  # the forum topic it was sent in
    rich_html: str | None = None

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        if not self.reply_markup:
            return []
        rows: list[list[dict[str, Any]]] = self.reply_markup.get("inline_keyboard", [])
        return rows

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [button for row in self.inline_keyboard for button in row]

    @property
    def callback_data(self) -> list[str]:
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]

    def button(self, text: str) -> dict[str, Any]:
        """The inline button whose label is ``text`` (KeyError listing the labels otherwise)."""
        for candidate in self.buttons:
            if candidate.get("text") == text:
                return candidate
        raise KeyError(f"no button {text!r}; buttons: {[b.get('text') for b in self.buttons]}")

    def entities_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.entities if e["type"] == kind]

    def entity_text(self, entity: Mapping[str, Any]) -> str:
        """The part of ``text`` an entity covers (offsets are UTF-16 code units)."""
        raw = (self.text or "").encode("utf-16-le")
        start = 2 * int(entity["offset"])
        return raw[start : start + 2 * int(entity["length"])].decode("utf-16-le")


@dataclass
class CallbackQueryRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created_at: datetime
    answered: bool = False
    answered_at: datetime | None = None
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int | None = None


@dataclass
class InlineQueryRecord:
    id: str
    user_id: int
    query: str
    offset: str
    chat_type: str | None
    created_at: datetime
    answered: bool = False
    answered_at: datetime | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    cache_time: int | None = None
    is_personal: bool = False
    next_offset: str | None = None
    button: dict[str, Any] | None = None


@dataclass(frozen=True)
class ApiRequest:
    """One Bot API call, logged when it was answered."""

    method: str
    params: dict[str, Any]
    at: datetime
    duration: float
    status: int
    description: str | None = None
    fault: str | None = None  # injected fault: "retry_after", "server_error", "hang", "drop"

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class FakeEvent:
    """What a listener (e.g. a web UI) is told about."""

    kind: EventKind
    chat_id: int | None = None
    message: FakeMessage | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


Listener = Callable[[FakeEvent], Awaitable[None] | None]
