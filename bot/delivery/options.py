"""The broadcaster's tunables (``DeliveryOptions``) and its per-pass counters (``PassStats``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.config import Settings
from storage import outbox
from storage.outbox import Outcome, SendingPolicy


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    workers: int = 16  # requests in flight (or waiting in the rate limiter) at once
    claim_batch: int = 64  # rows leased per transaction, ahead of the limiter (still pending)
    flush_every: int = 32  # outcomes written per transaction
    flush_interval: float = 0.25
    max_network_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    shutdown_grace: float = 3.0
    sending_policy: SendingPolicy = "unknown"
    lease_seconds: float = 30.0  # a claim holds this long unless renewed (every third of it)
    allow_paid_broadcast: bool = False
    # Send through the lean aiohttp Bot API client (``BotApiClient``) instead of ``send_message``
    # when the bot's request setup allows it (plain HTTPXRequest, no proxy); same limiter,
    # same errors. False: always PTB's full stack.
    fast_path: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryOptions:
        return cls(
            workers=settings.delivery_workers,
            claim_batch=settings.delivery_batch,
            sending_policy=settings.sending_policy,
            lease_seconds=settings.lease_seconds,
            allow_paid_broadcast=settings.allow_paid_broadcast,
        )


@dataclass(slots=True)
class PassStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    returned: int = 0  # given back as pending (stop, retries exhausted)
    migrated: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def add(self, outcome: Outcome) -> None:
        if outcome.state == outbox.SENT:
            self.sent += 1
        elif outcome.state == outbox.FAILED:
            self.failed += 1
        elif outcome.state == outbox.UNKNOWN:
            self.unknown += 1
        elif outcome.state == outbox.SKIPPED:
            self.skipped += 1
        else:
            self.returned += 1

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started
