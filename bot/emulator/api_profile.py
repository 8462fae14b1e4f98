"""Bot API: the bot's own profile — getMe, commands per scope and language, descriptions, name."""

from __future__ import annotations

from typing import Any

from .errors import bad_request
from .models import FakeEvent
from .params import Params
from .store import ChatStore, CommandScopeKey

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


class ProfileApi(ChatStore):
    """getMe, set/get/deleteMyCommands, setMyDescription/ShortDescription/Name."""

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

    async def _store_setting(self, name: str, p: Params) -> Any:
        self.bot_settings[(name, self._language(p))] = dict(p.raw)
        return True

    def _checked_text(self, p: Params, field: str, limit: int) -> None:
        # Telegram: 0-512 characters for the description, 0-120 for the short one.
        text = p.get_str(field) or ""
        if len(text) > limit:
            raise bad_request(f"{field} is too long")

    async def _api_setmydescription(self, p: Params) -> Any:
        self._checked_text(p, "description", 512)
        return await self._store_setting("description", p)

    async def _api_setmyshortdescription(self, p: Params) -> Any:
        self._checked_text(p, "short_description", 120)
        return await self._store_setting("short_description", p)

    def description_for(self, language_code: str = "", short: bool = False) -> str | None:
        """The description (or short description) set for ``language_code``, if any."""
        name = "short_description" if short else "description"
        stored = self.bot_settings.get((name, language_code))
        return None if stored is None else str(stored.get(name, ""))

    async def _api_setmyname(self, p: Params) -> Any:
        return await self._store_setting("name", p)

    def commands_for(
        self,
        language_code: str = "",
        scope_type: str = "default",
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> list[dict[str, str]]:
        return list(self.commands.get(((scope_type, chat_id, user_id), language_code), []))
