"""What every handler gets: the dependencies and the update's resolved language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.metrics import Metrics
from storage.types import utcnow


@dataclass
class RichSupport:
    """Whether this process sends rich messages (``DIGESTBOT_RICH_MESSAGES``); switched off for
    the life of the process once the Bot API server shows it lacks the method or a construct."""

    enabled: bool = True
    reason: str | None = None

    def disable(self, reason: str) -> None:
        self.enabled, self.reason = False, reason


@dataclass
class Deps:
    """Built once in ``build_application`` and passed down; never global."""

    engine: Engine
    settings: Settings
    clock: Callable[[], datetime] = utcnow
    metrics: Metrics = field(default_factory=Metrics)
    rich: RichSupport = field(default_factory=RichSupport)


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB creates one context per update and shares it across handler groups, so the
    language resolved in group -1 is seen by the handler that answers."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id, user_id)
        self.lang: str = ""
        # Set once a callback query is answered, so the router answers every query exactly once.
        self.callback_answered = False

    @property
    def deps(self) -> Deps:
        deps = self.application.bot_data["deps"]
        assert isinstance(deps, Deps)
        return deps
