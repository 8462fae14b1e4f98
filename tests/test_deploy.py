"""deploy/: what the Dockerfile, the compose file and the systemd unit rely on.

No container engine or systemd runs here, so the files themselves are not exercised; these
tests check every promise they make about the bot: the entry command, the health check's
URL and command against a real /healthz, the exit code that stops restarts, the names.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.cli import EXIT_USAGE, _parser
from bot.config import Settings, split_listen
from bot.metrics import Metrics
from bot.monitor import HealthSources, Monitor

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
COMPOSE = (DEPLOY / "compose.yaml").read_text()
UNIT = (DEPLOY / "digestbot.service").read_text()
OUR_NAMES = re.compile(r"\b(DIGESTBOT_[A-Z_]+|TELEGRAM_[A-Z_]+|DATABASE_URL)\b")


def _instruction(name: str) -> str:
    """The (continued) text of the last ``name`` instruction of the Dockerfile."""
    joined = DOCKERFILE.replace("\\\n", " ")
    found = re.findall(rf"^{name} (.+)$", joined, re.MULTILINE)
    assert found, name
    return str(found[-1])


def test_every_setting_named_in_deploy_files_exists() -> None:
    aliases = {field.alias for field in Settings.model_fields.values()}
    for text in (DOCKERFILE, COMPOSE, UNIT):
        names = set(OUR_NAMES.findall(text))
        assert names, "each file configures the bot"
        assert names <= aliases, names - aliases


def test_the_image_runs_digestbot_run_as_a_non_root_user() -> None:
    command = json.loads(_instruction("ENTRYPOINT")) + json.loads(_instruction("CMD"))
    assert command == ["digestbot", "run"]
    assert _parser().parse_args(command[1:]).command == "run"
    pyproject = (DEPLOY.parent / "pyproject.toml").read_text()
    assert 'digestbot = "bot.cli:main"' in pyproject
    assert _instruction("USER") not in ("root", "0")
    assert all("slim" in line for line in re.findall(r"^FROM (.+)$", DOCKERFILE, re.M))
    for directory in ("bot", "handlers", "storage", "locales", "data"):
        assert f"COPY {directory} ./{directory}" in DOCKERFILE


def test_unit_runs_digestbot_run_and_does_not_restart_on_bad_settings() -> None:
    assert re.search(r"^ExecStart=\S+/\.venv/bin/digestbot run$", UNIT, re.M)
    assert f"RestartPreventExitStatus={EXIT_USAGE}" in UNIT
    assert "User=digestbot" in UNIT


def test_compose_has_postgres_with_volumes_and_a_psycopg_url() -> None:
    assert "image: postgres:" in COMPOSE
    assert "pgdata:/var/lib/postgresql/data" in COMPOSE
    assert "botdata:/var/lib/digestbot" in COMPOSE
    assert "DATABASE_URL: postgresql+psycopg://" in COMPOSE
    assert "condition: service_healthy" in COMPOSE


async def test_the_health_check_command_passes_and_fails_with_healthz(engine: Engine) -> None:
    env = dict(re.findall(r"(\w+)=(\S+)", _instruction("ENV")))
    host, port = split_listen(env["DIGESTBOT_METRICS_LISTEN"])
    assert host == "0.0.0.0"  # reachable from outside the container's loopback
    check = json.loads(_instruction("HEALTHCHECK").split(" CMD ", 1)[1])
    assert check[0] == "python" and f"127.0.0.1:{port}/healthz" in check[2]

    last_pass = [time.monotonic()]
    sources = HealthSources(
        engine=engine,
        receiving=lambda: True,
        last_planner_pass=lambda: last_pass[0],
        planner_interval=30,
    )
    # The same command against a real /healthz on a free port (9464 may be taken here).
    monitor = Monitor(metrics=Metrics(), health=sources, host="127.0.0.1", port=0)
    await monitor.start()
    try:
        code = check[2].replace(f"127.0.0.1:{port}", f"127.0.0.1:{monitor.port}")

        async def run_check() -> int:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", code, stderr=asyncio.subprocess.DEVNULL
            )
            return await proc.wait()

        assert await run_check() == 0
        last_pass[0] = time.monotonic() - 3600  # the planner stopped: unhealthy
        assert await run_check() != 0
    finally:
        await monitor.stop()


@pytest.mark.parametrize("name", ["DIGESTBOT_METRICS_LISTEN", "DIGESTBOT_LOG_FORMAT"])
def test_new_settings_are_documented(name: str) -> None:
    root = DEPLOY.parent
    assert name in (root / "README.md").read_text()
    assert name in (root / ".env.example").read_text()
