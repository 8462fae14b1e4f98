"""The user side: create users and groups, then write, press buttons and use inline mode."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .html_entities import find_auto_entities, sort_entities
from .models import (
    CallbackQueryRecord,
    ChatType,
    FakeChat,
    FakeEvent,
    FakeMessage,
    FakeUser,
    InlineQueryRecord,
    MemberStatus,
)
from .params import utc_now
from .store import ChatRef, UserRef
from .updates import UpdateQueue


class UserActions(UpdateQueue):
    """What users do: ``create_*`` set the scene, the rest become updates if the bot sees them."""

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
        forum: bool = False,
    ) -> FakeChat:
        """A group (or supergroup) with the bot already in it (``bot_status``); ``forum``: a
        supergroup with topics (``create_topic``)."""
        kind: ChatType = "supergroup" if supergroup or forum else "group"
        new_id = chat_id if chat_id is not None else self._new_group_id(kind)
        if new_id in self.chats:
            raise ValueError(f"chat id {new_id} already exists")
        chat = FakeChat(id=new_id, type=kind, title=title, username=username, bot_status=bot_status)
        chat.is_forum = forum
        for ref in members:
            chat.members[self._user(ref).id] = "member"
        for ref in admins:
            chat.members[self._user(ref).id] = "administrator"
        if creator is not None:
            chat.members[self._user(creator).id] = "creator"
        self.chats[new_id] = chat
        return chat

    def create_topic(self, chat: ChatRef) -> int:
        """A new open topic in a forum; its message_thread_id."""
        target = self._chat(chat)
        if not target.is_forum:
            raise ValueError(f"chat {target.id} is not a forum")
        thread_id = self._new_message_id(target.id)
        target.topics[thread_id] = "open"
        return thread_id

    def set_topic_state(self, chat: ChatRef, thread_id: int, state: str) -> None:
        """Close, reopen or delete a topic: ``state`` is "closed", "open" or "deleted"."""
        self._chat(chat).topics[thread_id] = state

    def create_channel(
        self, title: str, *, creator: UserRef, admins: Iterable[UserRef] = ()
    ) -> FakeChat:
        """A channel the bot is not in yet (``add_bot_to_channel`` brings it in)."""
        chat = FakeChat(
            id=-1_002_000_000_000 - next(self._ids), type="channel", title=title, bot_status="left"
        )
        chat.members[self._user(creator).id] = "creator"
        for ref in admins:
            chat.members[self._user(ref).id] = "administrator"
        self.chats[chat.id] = chat
        return chat

    def _new_group_id(self, kind: ChatType) -> int:
        n = next(self._ids)
        return -1_001_000_000_000 - n if kind == "supergroup" else -4_000_000_000 - n

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
        self,
        chat: ChatRef,
        user: UserRef,
        text: str,
        *,
        reply_to: int | None = None,
        topic: int | None = None,
    ) -> FakeMessage:
        """``user`` writes ``text`` in ``chat`` (in forum ``topic``, if given); the bot gets a
        ``message`` update if it would."""
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
        message = self._store_user_message(
            target,
            sender,
            text=stripped,
            entities=sort_entities(find_auto_entities(stripped, [])),
            reply_to_message_id=reply_to,
            message_thread_id=topic,
        )
        await self._publish_user_message(target, message)
        return message

    def _store_user_message(self, chat: FakeChat, sender: FakeUser, **fields: Any) -> FakeMessage:
        """Store a message ``sender`` wrote in ``chat`` now (``fields``: FakeMessage's others)."""
        return self._store(
            FakeMessage(
                chat_id=chat.id,
                message_id=self._new_message_id(chat.id),
                sender_id=sender.id,
                from_bot=False,
                date=utc_now(),
                **fields,
            )
        )

    async def _publish_user_message(self, chat: FakeChat, message: FakeMessage) -> None:
        """The bot gets a ``message`` update if it would see it; listeners always hear of it."""
        if self._bot_sees(chat, message):
            self._enqueue("message", self.message_dict(message))
        await self._emit(FakeEvent("message", chat.id, message))

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
            created_at=utc_now(),
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
            created_at=utc_now(),
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
        message = self._store_user_message(
            chat,
            sender,
            via_bot=True,
            text=content.get("message_text"),
            entities=list(content.get("entities", [])),
            reply_markup=markup,
            inline_message_id=f"inline-{next(self._ids)}" if markup else None,
        )
        if message.inline_message_id is not None:
            self._inline_messages[message.inline_message_id] = message
        await self._emit(FakeEvent("message", chat.id, message))
        return message
