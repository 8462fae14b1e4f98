"""The operations endpoint: ``/metrics`` for Prometheus and ``/healthz`` for orchestrators.

Served on ``DIGESTBOT_METRICS_LISTEN`` (off by default) by a small aiohttp server in the bot's
own event loop. ``/healthz`` answers 200 when the database answers, updates are being received
(long polling or webhook running) and the planner has run recently; else 503 naming the
failing part. Both answer JSON / text without any secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.metrics import Metrics

log = logging.getLogger(__name__)

DB_TIMEOUT = 5.0


@dataclass
class HealthSources:
    """Where ``/healthz`` looks; callables so the answer is always current."""

    engine: Engine
    receiving: Callable[[], bool]  # polling or webhook running
    last_planner_pass: Callable[[], float | None]  # time.monotonic() of the last pass
    planner_interval: float
    started: float = 0.0  # time.monotonic() at start; the first pass may take a moment

    def planner_deadline(self) -> float:
        """A pass may be this late before the planner counts as stuck."""
        return max(3 * self.planner_interval, 60.0)


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def check_health(sources: HealthSources) -> dict[str, str]:
    """``{"database": "ok" | problem, "updates": ..., "planner": ...}``."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(asyncio.to_thread(_ping, sources.engine), DB_TIMEOUT)
        checks["database"] = "ok"
    except TimeoutError:
        checks["database"] = f"no answer within {DB_TIMEOUT:.0f} s"
    except SQLAlchemyError as exc:
        checks["database"] = f"unreachable ({type(getattr(exc, 'orig', None) or exc).__name__})"
    checks["updates"] = "ok" if sources.receiving() else "not receiving updates"
    last = sources.last_planner_pass()
    since = time.monotonic() - (last if last is not None else sources.started)
    if since <= sources.planner_deadline():
        checks["planner"] = "ok"
    else:
        checks["planner"] = (
            f"no pass for {since:.0f} s" if last is not None else "no pass since start"
        )
    return checks


class Monitor:
    """``async with Monitor(...)``: serves until closed; ``port`` is the bound port."""

    def __init__(
        self, *, metrics: Metrics, health: HealthSources | None, host: str, port: int
    ) -> None:
        self.metrics = metrics
        self.health = health
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = await asyncio.to_thread(self.metrics.exposition)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _request: web.Request) -> web.Response:
        if self.health is None:
            return web.json_response({"status": "starting"}, status=503)
        checks = await check_health(self.health)
        healthy = all(value == "ok" for value in checks.values())
        body = {"status": "ok" if healthy else "unhealthy", **checks}
        return web.Response(
            text=json.dumps(body),
            status=200 if healthy else 503,
            content_type="application/json",
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        if runner.addresses:  # the bound port, when port 0 asked for any free one
            self.port = int(runner.addresses[0][1])
        log.info("metrics on http://%s:%d/metrics, health on /healthz", self.host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
