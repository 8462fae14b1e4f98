"""Application wiring: ``build_application`` makes the whole bot (``bot.runner`` runs it)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

import handlers
from bot.config import Settings
from bot.content.enrich.jobs import after_import, close_newsroom, install_newsroom
from bot.content.feeds import poll_feeds_async
from bot.content.importer import make_http_client
from bot.context import BotContext, Deps, RichSupport
from bot.delivery.planner import DeliveryService, install_jobs, stop_delivery
from bot.delivery.ratelimit import RateLimits, TelegramRateLimiter
from bot.failures import StartupError
from bot.metrics import Metrics
from bot.monitor import HealthSources, Monitor
from handlers.commands import publish_commands
from storage.types import utcnow

log = logging.getLogger(__name__)

# bot_data key: True while this instance stands by for the leader (polls nothing on purpose).
STANDBY = "standby"

BotApplication = Application[Any, BotContext, Any, Any, Any, Any]


def update_kind(update: object) -> str:
    """The update's type (message, callback_query, ...): a small, fixed label set."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"


class DigestApplication(BotApplication):
    """PTB's Application, counting every update and serving ``/metrics`` and ``/healthz``
    (when ``DIGESTBOT_METRICS_LISTEN`` is set) for as long as it is initialized."""

    def __init__(self, *, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics
        self.monitor: Monitor | None = None

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            self.metrics.updates.labels(update_kind(update)).inc()
            self.metrics.reply_seconds.observe(time.perf_counter() - started)

    async def initialize(self) -> None:
        await super().initialize()
        if self.monitor is not None:
            try:
                await self.monitor.start()
            except OSError as exc:
                raise StartupError(
                    f"cannot serve metrics on DIGESTBOT_METRICS_LISTEN "
                    f"{self.monitor.host}:{self.monitor.port} ({exc.strerror or exc})"
                ) from None

    async def shutdown(self) -> None:
        if self.monitor is not None:
            await self.monitor.stop()
        await super().shutdown()


def build_application(
    settings: Settings,
    engine: Engine,
    *,
    token: str | None = None,
    base_url: str | None = None,
    base_file_url: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> BotApplication:
    """Build the bot with every handler, job and the error handler; tests build it too."""
    token = token or settings.token
    if not token:
        raise ValueError("a bot token is required")
    metrics = Metrics()
    builder = (
        ApplicationBuilder()
        .application_class(DigestApplication, kwargs={"metrics": metrics})
        .token(token)
        .base_url(base_url or settings.telegram_api_base_url)
        .context_types(ContextTypes(context=BotContext))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                tzinfo=UTC,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .post_init(_post_init)
        # Stop a broadcast between two messages while the bot can still send (before shutdown).
        .post_stop(stop_delivery)
        .post_shutdown(close_newsroom)
        .concurrent_updates(True)
        # Every request, broadcast or reply, shares one budget; replies go first.
        .rate_limiter(
            TelegramRateLimiter(
                RateLimits(
                    overall_per_second=settings.rate_overall,
                    group_per_minute=settings.rate_group_per_minute,
                    time_scale=settings.rate_time_scale,
                    safety=settings.rate_safety,
                ),
                metrics=metrics,
            )
        )
    )
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    application = builder.build()
    assert isinstance(application, DigestApplication)
    application.bot_data["deps"] = Deps(
        engine=engine,
        settings=settings,
        clock=clock,
        metrics=metrics,
        rich=RichSupport(enabled=settings.rich_messages),
    )
    handlers.register(application)
    service = install_jobs(
        application, engine=engine, settings=settings, clock=clock, metrics=metrics
    )
    _install_feed_job(
        application, engine=engine, settings=settings, clock=clock, metrics=metrics, leader=service
    )
    install_newsroom(application, engine=engine, settings=settings, clock=clock)
    if settings.metrics_address is not None:
        host, port = settings.metrics_address

        def receiving() -> bool:
            # A standby instance does not poll on purpose (another one does): healthy too.
            updater = application.updater
            polling = updater is not None and updater.running
            return application.running and (polling or bool(application.bot_data.get(STANDBY)))

        health = HealthSources(
            engine=engine,
            receiving=receiving,
            last_planner_pass=lambda: service.last_pass_at,
            planner_interval=settings.planner_interval,
            started=time.monotonic(),
        )
        application.monitor = Monitor(metrics=metrics, health=health, host=host, port=port)
    return application


def _install_feed_job(
    application: BotApplication,
    *,
    engine: Engine,
    settings: Settings,
    clock: Callable[[], datetime],
    metrics: Metrics,
    leader: DeliveryService,
) -> None:
    """Poll ``DIGESTBOT_FEEDS`` every ``DIGESTBOT_FEED_INTERVAL`` seconds (none: no job); then
    link duplicates and wake the newsroom. Only the leader polls: N instances would fetch
    every feed N times and race on its validators and backoff."""
    if not settings.feeds:
        return

    async def _feed_job(_context: BotContext) -> None:
        if not leader.sending:
            return
        # Failures of one feed are recorded per feed (backoff); anything else reaches the
        # application's error handler.
        with make_http_client() as client:
            outcomes = await poll_feeds_async(engine, settings, client=client)
        for outcome in outcomes:
            metrics.feed_polls.labels(outcome.status).inc()
        await after_import(application, engine=engine, settings=settings, now=clock())

    assert application.job_queue is not None
    application.job_queue.run_repeating(
        _feed_job, interval=float(settings.feed_interval), first=5.0, name="feed-poll"
    )


async def _post_init(application: BotApplication) -> None:
    await publish_commands(application.bot)
