"""Flood limits (HTTP 429 like Telegram) and seeded fault injection."""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

PostAction = Literal["hang", "drop"]
Clock = Callable[[], float]

# Lower-cased: Bot API method names are case-insensitive.
SEND_METHODS = frozenset(
    {
        "sendmessage",
        "editmessagetext",
        "editmessagereplymarkup",
        "editmessagecaption",
        "editmessagemedia",
        "forwardmessage",
        "forwardmessages",
        "copymessage",
        "copymessages",
        "sendphoto",
        "sendaudio",
        "senddocument",
        "sendvideo",
        "sendanimation",
        "sendvoice",
        "sendvideonote",
        "sendmediagroup",
        "sendlocation",
        "sendvenue",
        "sendcontact",
        "sendpoll",
        "senddice",
        "sendsticker",
    }
)


@dataclass
class FloodLimits:
    """Telegram's documented broadcast limits; ``time_scale`` speeds the clock up (10 -> 300/s)."""

    enabled: bool = False
    global_per_second: int = 30
    per_chat_per_second: int = 1
    per_group_per_minute: int = 20
    time_scale: float = 1.0
    min_retry_after: int = 1
    counted_methods: frozenset[str] = SEND_METHODS


@dataclass(frozen=True)
class FloodEvent:
    method: str
    chat_id: int | None
    scope: Literal["global", "chat", "group", "injected"]
    retry_after: int
    monotonic: float
    at: datetime
    during_penalty: bool


class FloodLimiter:
    """Sliding-window counters plus running penalties (after a 429 everything is refused)."""

    def __init__(self, limits: FloodLimits | None = None, clock: Clock = time.monotonic) -> None:
        self.limits = limits or FloodLimits()
        self.clock = clock
        self.rejections: list[FloodEvent] = []  # every 429 issued (limits or injected)
        self.penalty_violations: list[FloodEvent] = []  # requests made while a penalty ran
        self._global: deque[float] = deque()
        self._chat: dict[int, deque[float]] = {}
        self._group: dict[int, deque[float]] = {}
        self._global_penalty_until = 0.0
        self._chat_penalty_until: dict[int, float] = {}
        self._penalty_scope: dict[int | None, Literal["global", "chat", "group", "injected"]] = {}

    def configure(self, **changes: Any) -> None:
        """E.g. ``limiter.configure(enabled=True, time_scale=10)``."""
        self.limits = replace(self.limits, **changes)

    def reset(self) -> None:
        self.rejections.clear()
        self.penalty_violations.clear()
        self._global.clear()
        self._chat.clear()
        self._group.clear()
        self._global_penalty_until = 0.0
        self._chat_penalty_until.clear()

    def counts(self, method: str) -> bool:
        return method.lower() in self.limits.counted_methods

    def penalty_active(self, chat_id: int | None = None) -> bool:
        now = self.clock()
        if self._global_penalty_until > now:
            return True
        return chat_id is not None and self._chat_penalty_until.get(chat_id, 0.0) > now

    def check(self, method: str, chat_id: int | None, is_group: bool) -> FloodEvent | None:
        """A 429 event if this counted request must be refused, else None."""
        now = self.clock()
        until = max(
            self._global_penalty_until,
            self._chat_penalty_until.get(chat_id, 0.0) if chat_id is not None else 0.0,
        )
        if until > now:
            scope = self._penalty_scope.get(
                None if self._global_penalty_until > now else chat_id, "chat"
            )
            event = self._event(method, chat_id, scope, until - now, now, during_penalty=True)
            self.penalty_violations.append(event)
            self.rejections.append(event)
            return event
        if not self.limits.enabled:
            return None
        scale = self.limits.time_scale
        second = 1.0 / scale
        minute = 60.0 / scale
        self._prune(self._global, now - second)
        if len(self._global) >= self.limits.global_per_second:
            return self._reject(method, None, "global", self._global[0] + second - now, now)
        if chat_id is not None:
            window = self._chat.setdefault(chat_id, deque())
            self._prune(window, now - second)
            if len(window) >= self.limits.per_chat_per_second:
                return self._reject(method, chat_id, "chat", window[0] + second - now, now)
            if is_group:
                group = self._group.setdefault(chat_id, deque())
                self._prune(group, now - minute)
                if len(group) >= self.limits.per_group_per_minute:
                    return self._reject(method, chat_id, "group", group[0] + minute - now, now)
        return None

    def record_sent(self, chat_id: int | None, is_group: bool) -> None:
        if not self.limits.enabled:
            return
        now = self.clock()
        self._global.append(now)
        if chat_id is not None:
            self._chat.setdefault(chat_id, deque()).append(now)
            if is_group:
                self._group.setdefault(chat_id, deque()).append(now)

    def add_penalty(self, method: str, chat_id: int | None, retry_after: int) -> FloodEvent:
        """Start a penalty for an injected 429 (a well-behaved client must honour it too)."""
        now = self.clock()
        event = self._event(method, chat_id, "injected", retry_after, now, during_penalty=False)
        self._start_penalty(chat_id, "injected", now + event.retry_after)
        self.rejections.append(event)
        return event

    def _reject(
        self,
        method: str,
        chat_id: int | None,
        scope: Literal["global", "chat", "group"],
        wait: float,
        now: float,
    ) -> FloodEvent:
        event = self._event(method, chat_id, scope, wait, now, during_penalty=False)
        self._start_penalty(None if scope == "global" else chat_id, scope, now + event.retry_after)
        self.rejections.append(event)
        return event

    def _start_penalty(
        self,
        chat_id: int | None,
        scope: Literal["global", "chat", "group", "injected"],
        until: float,
    ) -> None:
        self._penalty_scope[chat_id] = scope
        if chat_id is None:
            self._global_penalty_until = max(self._global_penalty_until, until)
        else:
            self._chat_penalty_until[chat_id] = max(self._chat_penalty_until.get(chat_id, 0), until)

    def _event(
        self,
        method: str,
        chat_id: int | None,
        scope: Literal["global", "chat", "group", "injected"],
        wait: float,
        now: float,
        *,
        during_penalty: bool,
    ) -> FloodEvent:
        retry_after = max(self.limits.min_retry_after, math.ceil(wait - 1e-9))
        return FloodEvent(
            method=method,
            chat_id=chat_id,
            scope=scope,
            retry_after=retry_after,
            monotonic=now,
            at=datetime.now(UTC),
            during_penalty=during_penalty,
        )

    @staticmethod
    def _prune(window: deque[float], older_than: float) -> None:
        while window and window[0] <= older_than:
            window.popleft()


@dataclass
class FaultConfig:
    """Random faults; all off by default. ``methods=None`` means every method but getUpdates."""

    seed: int | None = 0
    retry_after_probability: float = 0.0
    retry_after_seconds: int = 1
    server_error_probability: float = 0.0
    server_error_statuses: tuple[int, ...] = (500, 502)
    delay_seconds: float = 0.0
    delay_jitter_seconds: float = 0.0
    hang_after_apply_probability: float = 0.0
    drop_after_apply_probability: float = 0.0
    hang_seconds: float | None = None  # None: until the client gives up or the server stops
    methods: frozenset[str] | None = None


@dataclass(frozen=True)
class FaultEvent:
    method: str
    kind: Literal["delay", "retry_after", "server_error", "hang", "drop"]
    value: float
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class PreFault:
    delay: float = 0.0
    status: int | None = None  # 429 or 5xx to answer instead of applying the request
    retry_after: int = 0


AfterApplyHook = Callable[[str, Mapping[str, Any]], PostAction | None]


class FaultInjector:
    """Reproducible faults (seeded ``random.Random``) plus one-shot "fail next" switches."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self.rng = random.Random(self.config.seed)
        self.events: list[FaultEvent] = []
        # Called after a request was applied; return "hang"/"drop" to lose the response.
        self.after_apply_hook: AfterApplyHook | None = None
        self._queued: list[tuple[str | None, PostAction]] = []
        self._queued_pre: list[tuple[str | None, int, int]] = []

    def configure(self, **changes: Any) -> None:
        self.config = replace(self.config, **changes)
        self.rng = random.Random(self.config.seed)

    def drop_next(self, method: str | None = None, count: int = 1) -> None:
        """Apply the next matching request, then close the connection without answering."""
        self._queued.extend([(_lower(method), "drop")] * count)

    def hang_next(self, method: str | None = None, count: int = 1) -> None:
        """Apply the next matching request, then never answer (the client's read times out)."""
        self._queued.extend([(_lower(method), "hang")] * count)

    def fail_next(
        self, method: str | None = None, status: int = 500, count: int = 1, retry_after: int = 1
    ) -> None:
        """Answer the next matching request(s) with ``status`` (429 or 5xx) without applying."""
        self._queued_pre.extend([(_lower(method), status, retry_after)] * count)

    def applies_to(self, method: str) -> bool:
        lowered = method.lower()
        if self.config.methods is None:
            return lowered != "getupdates"
        return lowered in {m.lower() for m in self.config.methods}

    def before(self, method: str) -> PreFault:
        lowered = method.lower()
        for index, (wanted, status, retry_after) in enumerate(self._queued_pre):
            if wanted is None or wanted == lowered:
                del self._queued_pre[index]
                self._log(method, "retry_after" if status == 429 else "server_error", status)
                return PreFault(status=status, retry_after=retry_after)
        if not self.applies_to(method):
            return PreFault()
        cfg = self.config
        delay = cfg.delay_seconds
        if cfg.delay_jitter_seconds:
            delay += self.rng.uniform(0, cfg.delay_jitter_seconds)
        if delay > 0:
            self._log(method, "delay", delay)
        if cfg.retry_after_probability and self.rng.random() < cfg.retry_after_probability:
            self._log(method, "retry_after", cfg.retry_after_seconds)
            return PreFault(delay=delay, status=429, retry_after=cfg.retry_after_seconds)
        if cfg.server_error_probability and self.rng.random() < cfg.server_error_probability:
            status = self.rng.choice(cfg.server_error_statuses)
            self._log(method, "server_error", status)
            return PreFault(delay=delay, status=status)
        return PreFault(delay=delay)

    def after(self, method: str, params: Mapping[str, Any]) -> PostAction | None:
        lowered = method.lower()
        action: PostAction | None = None
        for index, (wanted, queued_action) in enumerate(self._queued):
            if wanted is None or wanted == lowered:
                del self._queued[index]
                action = queued_action
                break
        if action is None and self.after_apply_hook is not None:
            action = self.after_apply_hook(method, params)
        if action is None and self.applies_to(method):
            cfg = self.config
            if cfg.hang_after_apply_probability and (
                self.rng.random() < cfg.hang_after_apply_probability
            ):
                action = "hang"
            elif cfg.drop_after_apply_probability and (
                self.rng.random() < cfg.drop_after_apply_probability
            ):
                action = "drop"
        if action is not None:
            self._log(method, action, 0.0)
        return action

    def _log(
        self,
        method: str,
        kind: Literal["delay", "retry_after", "server_error", "hang", "drop"],
        value: float,
    ) -> None:
        self.events.append(FaultEvent(method=method, kind=kind, value=value))


def _lower(method: str | None) -> str | None:
    return method.lower() if method is not None else None
