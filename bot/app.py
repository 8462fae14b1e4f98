"""Application wiring: ``build_application`` makes the whole bot; ``run_bot`` only runs it.

``serve`` runs one instance among possibly several on one database: it registers the instance,
takes part in the leader election (``bot.delivery.instances``), long polls and broadcasts only
while it leads, and in webhook mode answers whatever updates it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import Conflict, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

import handlers
from bot.config import Settings
from bot.content.enrich.jobs import after_import, close_newsroom, install_newsroom
from bot.content.feeds import poll_feeds_async
from bot.content.importer import make_http_client
from bot.context import BotContext, Deps
from bot.delivery.election import LeaderLock
from bot.delivery.instances import Coordinator, webhook_share
from bot.delivery.planner import SERVICE_KEY, DeliveryService, install_jobs, stop_delivery
from bot.delivery.ratelimit import RateLimits, TelegramRateLimiter
from handlers.commands import publish_commands
from storage.types import utcnow

log = logging.getLogger(__name__)

BotApplication = Application[Any, BotContext, Any, Any, Any, Any]


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
    builder = (
        ApplicationBuilder()
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
                )
            )
        )
    )
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    application: BotApplication = builder.build()
    application.bot_data["deps"] = Deps(engine=engine, settings=settings, clock=clock)
    handlers.register(application)
    install_jobs(application, engine=engine, settings=settings, clock=clock)
    _install_feed_job(application, engine=engine, settings=settings, clock=clock)
    install_newsroom(application, engine=engine, settings=settings, clock=clock)
    return application


def _install_feed_job(
    application: BotApplication,
    *,
    engine: Engine,
    settings: Settings,
    clock: Callable[[], datetime],
) -> None:
    """Poll ``DIGESTBOT_FEEDS`` every ``DIGESTBOT_FEED_INTERVAL`` seconds (none: no job); then
    link duplicates and wake the newsroom."""
    if not settings.feeds:
        return

    async def _feed_job(_context: BotContext) -> None:
        # Failures of one feed are recorded per feed (backoff); anything else reaches the
        # application's error handler.
        with make_http_client() as client:
            await poll_feeds_async(engine, settings, client=client)
        await after_import(application, engine=engine, settings=settings, now=clock())

    assert application.job_queue is not None
    application.job_queue.run_repeating(
        _feed_job, interval=float(settings.feed_interval), first=5.0, name="feed-poll"
    )


async def _post_init(application: BotApplication) -> None:
    await publish_commands(application.bot)


def run_bot(engine: Engine, settings: Settings) -> int:
    """Run until SIGTERM/SIGINT: a webhook when DIGESTBOT_WEBHOOK_URL is set, else long polling."""
    application = build_application(settings, engine)
    if settings.webhook_url:
        log.info(
            "starting digestbot (webhook %s, listening on %s:%d) against %s",
            settings.webhook_url,
            settings.webhook_listen,
            settings.webhook_port,
            settings.telegram_api_base_url,
        )
    else:
        log.info("starting digestbot (long polling) against %s", settings.telegram_api_base_url)
    asyncio.run(serve(application, engine, settings))
    return 0


class PollingErrors:
    """The updater's error callback: a 409 Conflict is expected while another process still
    polls (a handover), so it is one warning, not a traceback per attempt."""

    def __init__(self) -> None:
        self.conflicts = 0

    def __call__(self, error: TelegramError) -> None:
        if isinstance(error, Conflict):
            self.conflicts += 1
            if self.conflicts == 1:
                log.warning("another process polls this bot (409 Conflict); retrying: %s", error)
            return
        log.warning("polling for updates failed (%s); retrying", error)


async def serve(
    application: BotApplication,
    engine: Engine,
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
) -> None:
    """Run one instance until ``stop`` is set (default: on SIGTERM or SIGINT)."""
    stop = stop or _stop_on_signals()
    service = application.bot_data[SERVICE_KEY]
    assert isinstance(service, DeliveryService)
    service.sending = False  # until elected
    updater = application.updater
    assert updater is not None and settings.token is not None
    webhook = bool(settings.webhook_url)
    errors = PollingErrors()
    # The previous leader's last requests still count in Telegram's one-second window.
    quiet = (1.0 + settings.rate_safety) / settings.rate_time_scale

    async def on_leader(leader: bool) -> None:
        if leader:
            await asyncio.sleep(quiet)
            if not webhook and not updater.running:
                await updater.start_polling(allowed_updates=Update.ALL_TYPES, error_callback=errors)
            await service.set_sending(True)
            return
        await service.set_sending(False)
        if not webhook and updater.running:
            await updater.stop()  # confirms the offset of every update already fetched

    limiter = application.bot.rate_limiter

    def on_peers(live: int) -> None:
        # Webhook: every instance sends replies, so each keeps to its share of one budget.
        if webhook and isinstance(limiter, TelegramRateLimiter):
            limiter.set_overall_rate(
                webhook_share(
                    settings.rate_overall,
                    settings.reply_reserve,
                    leader=coordinator.leader,
                    live=live,
                )
            )

    coordinator = Coordinator(
        engine=engine,
        lock=LeaderLock(engine, settings.token),
        instance_id=service.broadcaster.owner,
        mode="webhook" if webhook else "polling",
        interval=settings.heartbeat_interval,
        on_leader=on_leader,
        on_peers=on_peers,
    )
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        if webhook:
            await updater.start_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=settings.webhook_path,
                webhook_url=settings.webhook_url,
                secret_token=settings.webhook_secret_token,
                allowed_updates=Update.ALL_TYPES,
            )
        await application.start()
        try:
            await coordinator.start()
            await stop.wait()
            log.info("stopping instance %s", coordinator.instance_id)
        finally:
            # Step down first (the broadcast ends between two messages, polling confirms its
            # offset), then release the lock so another instance takes over at once.
            await coordinator.stop()
        if updater.running:
            await updater.stop()
        if application.running:
            await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
    finally:
        await application.shutdown()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on every platform
            loop.add_signal_handler(sig, stop.set)
    return stop
