"""Text and reply markup checked and normalised as Telegram does before storing a message."""

from __future__ import annotations

from typing import Any

from bot.rules import CALLBACK_DATA_MAX_BYTES, MESSAGE_LIMIT, utf16_len

from .errors import bad_request
from .html_entities import (
    EntityParseError,
    finalize_text,
    normalize_link,
    parse_html,
    validate_entities,
)
from .store import ChatStore

MAX_BUTTONS = 100
MAX_ROW = 8
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


class Formatting(ChatStore):
    """``format_text``, ``validate_reply_markup``: shared by sends, edits and inline results."""

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
        if utf16_len(plain) > MESSAGE_LIMIT:
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
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_MAX_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            scheme = url.split(":", 1)[0].lower() if isinstance(url, str) and ":" in url else ""
            normalised = normalize_link(url) if scheme in ("http", "https", "tg") else None
            if normalised is None:
                raise bad_request("BUTTON_URL_INVALID")
            result["url"] = normalised
        return result
