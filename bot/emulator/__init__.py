"""A local Telegram Bot API emulator: the bot runs against it in tests and in sandbox mode.

``FakeTelegram`` holds the state and Bot API semantics (pure Python, no HTTP);
``FakeTelegramServer`` serves it over HTTP on loopback for python-telegram-bot.
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
