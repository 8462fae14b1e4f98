"""/metrics and /healthz: served by the running bot (and the sandbox), counting real traffic."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.app import DigestApplication
from bot.config import Settings, load_settings
from bot.metrics import Metrics
from bot.monitor import HealthSources, Monitor, check_health
from bot.sandbox import Sandbox, SandboxOptions
from storage.db import make_engine
from tests.harness import running_bot

TIMEOUT = 15.0


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(name) + (r"\{" + re.escape(label_text) + r"\}" if labels else "")
    match = re.search(rf"^{pattern} (\S+)$", exposition, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@pytest.fixture
def metered(settings: Settings) -> Settings:
    return load_settings(
        DATABASE_URL=settings.database_url,
        DIGESTBOT_METRICS_LISTEN="127.0.0.1:0",
        DIGESTBOT_PLANNER_INTERVAL="5",
    )


def monitor_url(app: object) -> str:
    assert isinstance(app, DigestApplication) and app.monitor is not None
    return f"http://127.0.0.1:{app.monitor.port}"


async def test_bot_counts_updates_and_reports_health(metered: Settings, engine: Engine) -> None:
    async with (
        running_bot(metered, engine) as bot,
        httpx.AsyncClient(base_url=monitor_url(bot.app), timeout=TIMEOUT) as http,
    ):
        user = bot.fake.create_user("Ann", language_code="en")
        await bot.command(user, user, "/start")
        await bot.command(user, user, "/top")
        await bot.fake.wait_for(lambda: bot.app.bot_data["digest_delivery"].last_pass_at)

        scraped = await http.get("/metrics")
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        text = scraped.text
        assert sample(text, "digestbot_updates_total", kind="message") >= 2
        assert sample(text, "digestbot_reply_seconds_count") >= 2
        assert sample(text, "digestbot_planner_passes_total") >= 1
        assert sample(text, "digestbot_outbox_rows", state="pending") == 0
        assert "digestbot_telegram_429_total 0.0" in text
        assert bot.fake.token not in text

        health = await http.get("/healthz")
        assert health.status_code == 200, health.text
        assert health.json() == {
            "status": "ok",
            "database": "ok",
            "updates": "ok",
            "planner": "ok",
        }
    assert metered.metrics_address is not None


async def test_sandbox_digest_shows_in_the_delivery_counters(
    metered: Settings, engine: Engine
) -> None:
    async with Sandbox(metered, engine, SandboxOptions(port=0)) as sandbox:
        assert sandbox.application is not None
        user = sandbox.fake.create_user("Bo", language_code="en")
        result = await sandbox.deliver_now(user.id, user.id)
        assert result["planned"] == 1
        metrics = sandbox.application.bot_data["deps"].metrics
        await sandbox.fake.wait_for(
            lambda: sample(
                metrics.exposition().decode(), "digestbot_digest_sends_total", outcome="sent"
            )
        )
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            text = (await http.get(monitor_url(sandbox.application) + "/metrics")).text
        assert sample(text, "digestbot_digest_sends_total", outcome="sent") == 1
        assert sample(text, "digestbot_planner_lag_seconds_count") == 1


async def test_health_names_each_failing_part() -> None:
    sources = HealthSources(
        # Nothing listens on loopback port 9: the database is unreachable.
        engine=make_engine("postgresql+psycopg://bot:pw@127.0.0.1:9/none"),
        receiving=lambda: False,
        last_planner_pass=lambda: time.monotonic() - 3600,
        planner_interval=30,
    )
    checks = await check_health(sources)
    assert checks["database"].startswith("unreachable")
    assert checks["updates"] == "not receiving updates"
    assert checks["planner"].startswith("no pass for 36")
    monitor = Monitor(metrics=Metrics(), health=sources, host="127.0.0.1", port=0)
    await monitor.start()
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            answer = await http.get(f"http://127.0.0.1:{monitor.port}/healthz")
        assert answer.status_code == 503
        assert answer.json()["status"] == "unhealthy"
        assert "pw" not in answer.text
    finally:
        await monitor.stop()
        sources.engine.dispose()


def test_two_applications_count_separately() -> None:
    first, second = Metrics(), Metrics()
    first.updates.labels("message").inc()
    assert sample(first.exposition().decode(), "digestbot_updates_total", kind="message") == 1
    assert sample(second.exposition().decode(), "digestbot_updates_total", kind="message") == 0


@pytest.mark.parametrize("value", ["9464", "localhost", "127.0.0.1:port", "127.0.0.1:70000"])
def test_metrics_listen_must_be_host_and_port(value: str, settings: Settings) -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="DIGESTBOT_METRICS_LISTEN: expected HOST:PORT"):
        load_settings(DIGESTBOT_METRICS_LISTEN=value)


async def test_a_taken_metrics_port_is_a_startup_error(settings: Settings, engine: Engine) -> None:
    from bot.app import build_application
    from bot.emulator import FakeTelegram, FakeTelegramServer
    from bot.failures import StartupError

    holder = Monitor(metrics=Metrics(), health=None, host="127.0.0.1", port=0)
    await holder.start()
    try:
        taken = load_settings(
            DATABASE_URL=settings.database_url,
            DIGESTBOT_METRICS_LISTEN=f"127.0.0.1:{holder.port}",
        )
        async with FakeTelegramServer(FakeTelegram()) as server:
            app = build_application(
                taken, engine, token=server.fake.token, base_url=server.base_url
            )
            with pytest.raises(
                StartupError, match=f"DIGESTBOT_METRICS_LISTEN 127.0.0.1:{holder.port}"
            ):
                await app.initialize()
            await app.shutdown()
    finally:
        await holder.stop()
