"""The one place that calls ``sendRichMessage`` (Bot API 10.1).

python-telegram-bot 22 has no typed method for it, so this goes through
``Bot.do_api_request`` (same rate limiter, same error mapping); a PTB release with
``send_rich_message`` replaces this function only. Whatever the server cannot take, the caller
gets ``None`` and sends the paged HTML view instead — the reader never sees an error.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, EndPointNotFound

from bot.context import RichSupport

_LOGGER = logging.getLogger(__name__)


async def send_rich_message(
    bot: Bot,
    support: RichSupport,
    *,
    chat_id: int,
    html: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    message_thread_id: int | None = None,
) -> Message | None:
    """Send ``html`` as a rich message; None when rich messages are off or were refused."""
    if not support.enabled:
        return None
    kwargs: dict[str, Any] = {"chat_id": chat_id, "rich_message": {"html": html}}
    if reply_markup is not None:
        kwargs["reply_markup"] = reply_markup
    if message_thread_id is not None:
        kwargs["message_thread_id"] = message_thread_id
    try:
        result = await bot.do_api_request("sendRichMessage", api_kwargs=kwargs, return_type=Message)
    except EndPointNotFound:
        support.disable("the Bot API server has no sendRichMessage")
        _LOGGER.warning("rich messages off for this process: %s", support.reason)
        return None
    except BadRequest as exc:
        text = exc.message.lower()
        if "method not found" in text or "unsupported" in text:
            # An older or stricter server: do not try again in this process.
            support.disable(f"the Bot API server refused a rich message: {exc.message}")
            _LOGGER.warning("rich messages off for this process: %s", support.reason)
            return None
        if "rich message" in text:
            _LOGGER.warning("rich message refused, sending pages instead: %s", exc.message)
            return None
        raise
    assert isinstance(result, Message)
    return result
