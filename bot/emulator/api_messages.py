"""Bot API: sendMessage, editMessageText/ReplyMarkup, deleteMessage(s)."""

from __future__ import annotations

from typing import Any

from .errors import bad_request
from .formatting import Formatting
from .models import FakeChat, FakeEvent, FakeMessage, MessageVersion
from .params import Params, utc_now
from .rich_html import RichParseError, parse_rich_html

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


class MessagesApi(Formatting):
    """sendMessage, editMessageText/ReplyMarkup, deleteMessage(s)."""

    async def _api_sendmessage(self, p: Params) -> Any:
        chat = self._resolve_chat(p, write=True)
        text, entities = self.format_text(
            p.get_str("text"), p.get_str("parse_mode"), p.get_json("entities", "entities")
        )
        markup = self.validate_reply_markup(p.get_json("reply_markup", "reply keyboard markup"))
        reply_to = self._reply_target(chat, p)
        thread_id = self._thread(chat, p)
        message = self._store(
            FakeMessage(
                chat_id=chat.id,
                message_id=self._new_message_id(chat.id),
                sender_id=self.bot.id,
                from_bot=True,
                date=utc_now(),
                text=text,
                entities=entities,
                reply_markup=markup,
                reply_to_message_id=reply_to,
                params=dict(p.raw),
                message_thread_id=thread_id,
            )
        )
        await self._emit(FakeEvent("message", chat.id, message))
        return self.message_dict(message)

    @staticmethod
    def _thread(chat: FakeChat, p: Params) -> int | None:
        """The forum topic to post in; errors as Telegram words them."""
        thread_id = p.get_int("message_thread_id")
        if not thread_id or not chat.is_forum:
            return None  # General, or a chat without topics (Telegram ignores it there)
        state = chat.topics.get(thread_id)
        if state is None or state == "deleted":
            raise bad_request("message thread not found")
        if state == "closed":
            raise bad_request("TOPIC_CLOSED")
        return thread_id

    async def _api_sendrichmessage(self, p: Params) -> Any:
        chat = self._resolve_chat(p, write=True)
        rich = p.get_json("rich_message", "InputRichMessage")
        if not isinstance(rich, dict):
            raise bad_request("rich_message must be an Object")
        kinds = [k for k in ("html", "markdown", "blocks") if rich.get(k) is not None]
        if len(kinds) != 1:
            raise bad_request("exactly one of html, markdown or blocks must be specified")
        if kinds != ["html"]:
            raise bad_request("the fake Telegram server only implements rich messages in HTML")
        try:
            document = parse_rich_html(str(rich["html"]))
        except RichParseError as err:
            raise bad_request(f"can't parse rich message: {err}") from None
        markup = self.validate_reply_markup(p.get_json("reply_markup", "reply keyboard markup"))
        thread_id = self._thread(chat, p)
        message = self._store(
            FakeMessage(
                chat_id=chat.id,
                message_id=self._new_message_id(chat.id),
                sender_id=self.bot.id,
                from_bot=True,
                date=utc_now(),
                message_thread_id=thread_id,
                text=document.text,
                reply_markup=markup,
                reply_to_message_id=self._reply_target(chat, p),
                params=dict(p.raw),
                rich={"blocks": document.blocks},
                rich_html=document.html,
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
        message.edit_date = utc_now()
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
