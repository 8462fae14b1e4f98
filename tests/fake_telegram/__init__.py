"""The fake Telegram Bot API used by the tests now lives in ``bot.emulator`` (sandbox mode
uses it too); this package re-exports it so ``from tests.fake_telegram import ...`` works."""

from bot.emulator import *  # noqa: F403
from bot.emulator import __all__ as __all__
