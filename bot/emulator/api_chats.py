"""Bot API: getChat, chat members and administrators, chat actions, menu buttons."""

from __future__ import annotations

from typing import Any

from .errors import bad_request
from .models import FakeChat, MemberStatus
from .params import Params
from .store import ChatStore

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


class ChatsApi(ChatStore):
    """getChat, getChatMember(s)/Administrators/MemberCount, sendChatAction, menu buttons."""

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
        can_post = None
        if chat.type == "channel":
            can_post = chat.bot_can_post if user_id == self.bot.id else True
        return self._member_dict(user, self._member_status(chat, user_id), can_post=can_post)

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
