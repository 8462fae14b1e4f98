"""The user side of membership: the bot added, removed, blocked; users gone; groups migrated."""

from __future__ import annotations

from typing import Any

from .models import FakeChat, FakeEvent, FakeMessage, FakeUser, MemberStatus
from .params import unix_ts, utc_now
from .store import ChatRef, UserRef
from .users import UserActions


class Membership(UserActions):
    """Membership changes, told to the bot as ``my_chat_member`` updates and service messages."""

    async def _chat_member_update(
        self,
        chat: FakeChat,
        by: FakeUser,
        old: MemberStatus,
        new: MemberStatus,
        *,
        could_post: bool | None = None,
    ) -> None:
        can_post = chat.bot_can_post if chat.type == "channel" else None
        payload = {
            "chat": self.chat_dict(chat),
            "from": by.to_dict(),
            "date": unix_ts(utc_now()),
            "old_chat_member": self._member_dict(self.bot_dict(), old, can_post=could_post),
            "new_chat_member": self._member_dict(self.bot_dict(), new, can_post=can_post),
        }
        self._enqueue("my_chat_member", payload)
        await self._emit(FakeEvent("chat", chat.id, None, {"bot_status": new}))

    async def _service_message(
        self, chat: FakeChat, by: FakeUser, service: dict[str, Any]
    ) -> FakeMessage:
        message = self._store_user_message(chat, by, service=service)
        await self._publish_user_message(chat, message)
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

    async def add_bot_to_channel(
        self, chat: ChatRef, by_user: UserRef, *, can_post: bool = True
    ) -> None:
        """A channel admin makes the bot an administrator (bots join channels only so)."""
        target = self._chat(chat)
        if target.type != "channel":
            raise ValueError(f"chat {target.id} is not a channel")
        await self.set_bot_rights(target, by_user, can_post=can_post)

    async def set_bot_rights(
        self, chat: ChatRef, by_user: UserRef, *, can_post: bool | None = None
    ) -> None:
        """Promote or demote the bot in a channel: ``can_post`` None makes it a plain member."""
        target = self._chat(chat)
        old, could = target.bot_status, target.bot_can_post
        if can_post is None:
            target.bot_status, target.bot_can_post = "member", False
        else:
            target.bot_status, target.bot_can_post = "administrator", can_post
        await self._chat_member_update(
            target, self._user(by_user), old, target.bot_status, could_post=could
        )

    async def remove_bot_from_group(self, chat: ChatRef, by_user: UserRef) -> None:
        target = self._chat(chat)
        old = target.bot_status
        target.bot_status = "kicked"
        await self._chat_member_update(target, self._user(by_user), old, "kicked")

    async def block_bot(self, user: UserRef) -> None:
        await self._set_blocked(user, blocked=True)

    async def unblock_bot(self, user: UserRef) -> None:
        await self._set_blocked(user, blocked=False)

    async def _set_blocked(self, user: UserRef, *, blocked: bool) -> None:
        blocker = self._user(user)
        chat = self.create_private_chat(blocker)
        blocker.blocked_bot = blocked
        old: MemberStatus = "member" if blocked else "kicked"
        chat.bot_status = "kicked" if blocked else "member"
        await self._chat_member_update(chat, blocker, old, chat.bot_status)

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
