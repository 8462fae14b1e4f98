"""Application wiring: ``build_application`` makes the whole bot; ``run_bot`` only runs it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot.config import Settings
from bot.content.feeds import poll_feeds_async
from bot.content.importer import make_http_client
from bot.context import BotContext, Deps
from bot.delivery.planner import install_jobs, stop_delivery
from bot.delivery.ratelimit import RateLimits, TelegramRateLimiter
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
    import handlers

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
        .concurrent_updates(True)
        # Every request, broadcast or reply, shares one budget; replies go first.
        .rate_limiter(
            TelegramRateLimiter(
                RateLimits(
                    overall_per_second=settings.rate_overall,
                    group_per_minute=settings.rate_group_per_minute,
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
    _install_feed_job(application, engine=engine, settings=settings)
    return application


def _install_feed_job(application: BotApplication, *, engine: Engine, settings: Settings) -> None:
    """Poll ``DIGESTBOT_FEEDS`` every ``DIGESTBOT_FEED_INTERVAL`` seconds (none: no job)."""
    if not settings.feeds:
        return

    async def _feed_job(_context: BotContext) -> None:
        # Failures of one feed are recorded per feed (backoff); anything else reaches the
        # application's error handler.
        with make_http_client() as client:
            await poll_feeds_async(engine, settings, client=client)

    assert application.job_queue is not None
    application.job_queue.run_repeating(
        _feed_job, interval=float(settings.feed_interval), first=5.0, name="feed-poll"
    )


async def _post_init(application: BotApplication) -> None:
    from handlers.commands import publish_commands

    await publish_commands(application.bot)


def run_bot(engine: Engine, settings: Settings) -> int:
    """Run until interrupted: a webhook when DIGESTBOT_WEBHOOK_URL is set, else long polling."""
    application = build_application(settings, engine)
    if settings.webhook_url:
        log.info(
            "starting digestbot (webhook %s, listening on %s:%d) against %s",
            settings.webhook_url,
            settings.webhook_listen,
            settings.webhook_port,
            settings.telegram_api_base_url,
        )
        # Plain HTTP on LISTEN:PORT; the reverse proxy in front terminates TLS for the URL.
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=settings.webhook_path,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret_token,
            allowed_updates=Update.ALL_TYPES,
        )
        return 0
    log.info("starting digestbot (long polling) against %s", settings.telegram_api_base_url)
    application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
