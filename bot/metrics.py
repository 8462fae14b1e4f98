"""Prometheus metrics: one ``Metrics`` object per application, with its own registry.

Built in ``build_application`` and passed down through ``Deps`` (and to the rate limiter and
the delivery service), never global, so two applications in one process (tests, the sandbox)
count separately. This module imports nothing from the bot: every package may record here.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Seconds: a reply takes milliseconds to seconds; a digest may be sent hours after its time.
REPLY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LAG_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 6 * 3600.0)


class Metrics:
    """Every counter the bot exposes at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter(
            "digestbot_updates", "Telegram updates handled, by kind", ["kind"], registry=r
        )
        self.reply_seconds = Histogram(
            "digestbot_reply_seconds",
            "Time from receiving an update to the end of its handling (replies included)",
            buckets=REPLY_BUCKETS,
            registry=r,
        )
        self.handler_errors = Counter(
            "digestbot_handler_errors", "Updates whose handler raised", registry=r
        )
        self.sends = Counter(
            "digestbot_digest_sends",
            "Digest deliveries by outcome (sent, failed, unknown, skipped, returned)",
            ["outcome"],
            registry=r,
        )
        self.telegram_429 = Counter(
            "digestbot_telegram_429", "429 Too Many Requests answers from Telegram", registry=r
        )
        self.flood_wait_seconds = Counter(
            "digestbot_flood_wait_seconds",
            "Seconds every request was paused for, as 429 answers asked (retry_after)",
            registry=r,
        )
        self.outbox_rows = Gauge(
            "digestbot_outbox_rows",
            "Outbox rows by state, as of the last planner pass",
            ["state"],
            registry=r,
        )
        self.planner_lag_seconds = Histogram(
            "digestbot_planner_lag_seconds",
            "Digest sent time minus its due time",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.planner_passes = Counter("digestbot_planner_passes", "Planner passes run", registry=r)
        self.planner_last_pass = Gauge(
            "digestbot_planner_last_pass_timestamp_seconds",
            "Unix time of the last planner pass",
            registry=r,
        )
        self.feed_polls = Counter(
            "digestbot_feed_polls",
            "Feed polls by result (fetched, not-modified, skipped, failed)",
            ["result"],
            registry=r,
        )

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
