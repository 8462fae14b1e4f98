"""A local Telegram Bot API emulator: the bot runs against it in tests and in sandbox mode.

``FakeTelegram`` (``state.py``) holds the state and Bot API semantics, pure Python, no HTTP;
``FakeTelegramServer`` (``server.py``) serves it over HTTP on loopback for python-telegram-bot.
``FakeTelegram`` is assembled from one class per concern, each building on ``ChatStore``:

- ``store.py``: users, chats, messages, pending updates, the change signal, Bot API JSON;
- ``updates.py``: the update queue, getUpdates long polling, the webhook methods
  (``webhook.py`` pushes updates to a set webhook);
- ``users.py``, ``membership.py``: the user side (write, press, inline mode; join, block,
  migrate); ``waiting.py``: waiting for the bot;
- ``formatting.py`` (with ``html_entities.py``): text and keyboards checked as Telegram does;
- ``api_messages.py``, ``api_queries.py``, ``api_chats.py``, ``api_profile.py``: the Bot API
  method families;
- ``limits.py``: flood limits and injected faults; ``params.py``, ``errors.py``, ``models.py``:
  requests, responses, errors and the plain data.

Telegram's limits (message length, callback data size, allowed tags) come from ``bot.rules``.
"""

from .errors import ApiError
from .html_entities import EntityParseError, parse_html
from .limits import (
    FaultConfig,
    FaultEvent,
    FaultInjector,
    FloodEvent,
    FloodLimiter,
    FloodLimits,
    PostAction,
)
from .models import (
    ApiRequest,
    CallbackQueryRecord,
    FakeChat,
    FakeEvent,
    FakeMessage,
    FakeUser,
    InlineQueryRecord,
    Listener,
    MessageVersion,
)
from .params import ApiResponse
from .server import FakeTelegramServer
from .state import FakeTelegram
from .webhook import SECRET_HEADER, WebhookAttempt

__all__ = [
    "SECRET_HEADER",
    "ApiError",
    "ApiRequest",
    "ApiResponse",
    "CallbackQueryRecord",
    "EntityParseError",
    "FakeChat",
    "FakeEvent",
    "FakeMessage",
    "FakeTelegram",
    "FakeTelegramServer",
    "FakeUser",
    "FaultConfig",
    "FaultEvent",
    "FaultInjector",
    "FloodEvent",
    "FloodLimiter",
    "FloodLimits",
    "InlineQueryRecord",
    "Listener",
    "MessageVersion",
    "PostAction",
    "WebhookAttempt",
    "parse_html",
]
