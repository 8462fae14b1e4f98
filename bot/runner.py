"""Running the bot: ``run_bot`` waits for Telegram, then ``serve`` runs one instance.

``serve`` runs one instance among possibly several on one database: it registers the instance,
takes part in the leader election (``bot.delivery.instances``), long polls and broadcasts only
while it leads, and in webhook mode answers whatever updates it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError

from bot.app import STANDBY, BotApplication, build_application
from bot.config import Settings
from bot.delivery.election import LeaderLock
from bot.delivery.instances import Coordinator, webhook_share
from bot.delivery.planner import SERVICE_KEY, DeliveryService
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.failures import StartupError

T = TypeVar("T")
log = logging.getLogger(__name__)


# Waiting for an unreachable Telegram at start: 1, 2, 4, ... seconds, at most this long.
RETRY_FIRST = 1.0
RETRY_CAP = 60.0


def retry_delay(attempt: int, *, first: float = RETRY_FIRST, cap: float = RETRY_CAP) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): doubling, capped."""
    return min(cap, first * float(2 ** min(attempt - 1, 32)))


async def wait_for_telegram(
    bot: Bot,
    *,
    stop: asyncio.Event,
    first: float = RETRY_FIRST,
    cap: float = RETRY_CAP,
) -> bool:
    """Call getMe until Telegram answers: True once it did, False when ``stop`` was set first.

    A network failure is not fatal (a bot often starts before the network is up): one log line
    per attempt, then a capped exponential backoff. A rejected token is: ``StartupError``, whose
    message never contains the token (PTB's own ``InvalidToken`` message does).
    """
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            await bot.get_me()
            return True
        except InvalidToken:
            raise StartupError(
                "Telegram rejected TELEGRAM_BOT_TOKEN (unauthorized); copy the token again "
                "from @BotFather (/mybots → API Token)"
            ) from None
        except NetworkError as exc:  # TimedOut included
            delay = retry_delay(attempt, first=first, cap=cap)
            log.warning(
                "Telegram is unreachable at %s (attempt %d: %s); retrying in %.0f s",
                bot.base_url.removesuffix(bot.token),
                attempt,
                exc.message,
                delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        except TelegramError as exc:
            raise StartupError(
                f"Telegram refused getMe: {exc.message.replace(bot.token, '***')}"
            ) from None
    return False


async def _until_stopped(task: Callable[[asyncio.Event], Awaitable[bool]]) -> bool:
    """Run ``task(stop)`` with SIGINT/SIGTERM setting ``stop``."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        return await task(stop)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def reach_telegram(settings: Settings) -> bool:
    """Check the token once Telegram answers; False when interrupted while waiting."""
    assert settings.token
    bot = Bot(settings.token, base_url=settings.telegram_api_base_url)

    # Not bot.initialize(): it calls getMe itself and fails at once; only the request layer.
    await bot.request.initialize()
    try:
        return await _until_stopped(lambda stop: wait_for_telegram(bot, stop=stop))
    finally:
        await bot.request.shutdown()


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop where it is installed (~12 % less CPU per sent message, measured
    in benchmarks/README.md), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def run_bot(engine: Engine, settings: Settings) -> int:
    """Run until SIGTERM/SIGINT: a webhook when DIGESTBOT_WEBHOOK_URL is set, else long polling.

    Raises ``StartupError`` (one line for the CLI) when the token is rejected.
    """
    if not run_loop(reach_telegram(settings)):
        return 0
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
    run_loop(serve(application, engine, settings))
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

    application.bot_data[STANDBY] = not webhook

    async def on_leader(leader: bool) -> None:
        if leader:
            await asyncio.sleep(quiet)
            if not webhook and not updater.running:
                await updater.start_polling(allowed_updates=Update.ALL_TYPES, error_callback=errors)
            application.bot_data[STANDBY] = False
            await service.set_sending(True)
            # Plan at once: the old leader may have died before planning what is due now.
            application.create_task(service.tick(), name="leader-first-pass")
            return
        application.bot_data[STANDBY] = not webhook
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
