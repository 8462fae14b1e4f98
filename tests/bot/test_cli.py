"""The CLI contract: every failure one line naming its cause, exit 2, no traceback, no secret."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.emulator import FakeTelegram, FakeTelegramServer
from tests.factories import article_record

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-Pa55word"
TOKEN = "7111222333:AAH-rejected-token-never-printed_0123"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed): connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: none of the developer's bot settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DIGESTBOT_", "TELEGRAM_")) and name != "DATABASE_URL"
    }
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env.update(extra)
    return env


def digestbot(
    *args: str, cwd: Path, env: dict[str, str], preexec: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [*(preexec or []), sys.executable, "-m", "bot.cli", *args]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("DIGESTBOT_", "TELEGRAM_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    yield tmp_path


# --- arguments -------------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == "digestbot 0.1.0"


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        ([], "usage: digestbot"),
        (["nonsense"], "usage: digestbot"),
        (["run", "extra"], "usage: digestbot"),
        (["db"], "usage: digestbot db"),
        (["db", "drop"], "usage: digestbot db"),
        (["db", "copy"], "usage: digestbot db copy"),
        (["db", "upgrade", "extra"], "usage: digestbot"),
        (["import"], "usage: digestbot import"),
        (["fetch", "--all"], "usage: digestbot"),
        (["status", "7"], "usage: digestbot"),
        (["digest"], "usage: digestbot digest"),
        (["digest", "--now"], "usage: digestbot"),
        (["enrich", "--limit", "²"], "usage: digestbot enrich"),
        (["enrich", "--limit", "0"], "usage: digestbot enrich"),
    ],
)
def test_bad_arguments_print_usage_and_exit_2(
    clean: Path, capsys: pytest.CaptureFixture[str], argv: list[str], usage: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage)
    assert "error:" in err
    assert not (clean / "digestbot.sqlite3").exists()


def test_digest_without_dry_run_says_how_digests_are_sent(
    clean: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["digest"])
    assert "only --dry-run is available" in capsys.readouterr().err


# --- database failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "digestbot.sqlite3",
        f"postgres://bot:{PASSWORD}@db/digest",
        f"postgresql://bot:{PASSWORD}@db:port/digest",
        f"mysql://bot:{PASSWORD}@db/digest",
        f"http://bot:{PASSWORD}@db/digest",
        f"bot:{PASSWORD}@db/digest",
        "",
    ],
)
def test_malformed_database_url_is_one_line(
    clean: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    code = main(["status"])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("digestbot: DATABASE_URL")
    assert PASSWORD not in out + err


def test_unreachable_postgres_is_one_line_without_the_password(
    clean: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 9 of loopback (discard); the connection is refused at once.
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://bot:{PASSWORD}@127.0.0.1:9/db")
    code = main(["status"])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1
    assert "database error (postgresql+psycopg://bot:***@127.0.0.1:9/db)" in err
    assert "check host, port, user, password" in err
    assert PASSWORD not in out + err


def _without_file_override() -> list[str]:
    """Root writes read-only files anyway; drop that capability so the test means it."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only file cannot be simulated")
    return [setpriv, "--inh-caps=-dac_override", "--bounding-set=-dac_override"]


def test_read_only_database_is_one_line(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL="sqlite:///ro/bot.sqlite3")
    assert digestbot("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    directory = tmp_path / "ro"
    for path in directory.iterdir():
        path.chmod(0o444)
    directory.chmod(0o555)
    try:
        for args in (["status"], ["import", str(PROJECT_ROOT / "data/sample-articles.jsonl")]):
            result = digestbot(*args, cwd=tmp_path, env=env, preexec=_without_file_override())
            assert_one_line(result, "sqlite:///ro/bot.sqlite3", "read-only")
    finally:
        directory.chmod(0o755)


def test_database_directory_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    env = clean_env(DATABASE_URL="sqlite:///locked/data/bot.sqlite3")
    try:
        result = digestbot("status", cwd=tmp_path, env=env, preexec=_without_file_override())
        assert_one_line(result, "cannot create locked/data", "Permission denied")
    finally:
        locked.chmod(0o755)


# --- the sandbox keeps to itself -------------------------------------------------------------


async def _until_line(stream: asyncio.StreamReader, needle: str, seen: list[str]) -> str:
    while True:
        raw = await asyncio.wait_for(stream.readline(), 30)
        assert raw, f"exited before printing {needle!r}: {seen}"
        line = raw.decode()
        seen.append(line)
        if needle in line:
            return line


async def test_sandbox_run_leaves_the_production_database_untouched(tmp_path: Path) -> None:
    env = clean_env(DIGESTBOT_SANDBOX_PORT="0")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        await _until_line(proc.stdout, "sample articles loaded", seen)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await proc.communicate()
    assert proc.returncode == 0, err
    assert seen[0].startswith("digestbot: sandbox mode")
    assert (tmp_path / "sandbox.sqlite3").exists()
    assert not (tmp_path / "digestbot.sqlite3").exists()


# --- Telegram at start -----------------------------------------------------------------------


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_rejected_token_is_one_line_and_never_printed(
    tmp_path: Path, log_format: str
) -> None:
    async with FakeTelegramServer(FakeTelegram()) as server:
        env = clean_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=server.base_url,
            DIGESTBOT_LOG_FORMAT=log_format,
        )
        # -v: every library logs at DEBUG, httpx included (its lines carry request URLs).
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "-v",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out_b, err_b = await asyncio.wait_for(proc.communicate(), 60)
    out, err = out_b.decode(), err_b.decode()
    assert proc.returncode == 2, err
    secret_half = TOKEN.split(":")[1]
    assert TOKEN not in out + err and secret_half not in out + err
    assert "Traceback" not in err
    assert "[REDACTED]" in err  # the debug log did carry the token, redacted
    last = err.strip().splitlines()[-1]
    assert last.startswith("digestbot: Telegram rejected TELEGRAM_BOT_TOKEN")
    assert out.startswith("digestbot: bot mode")


async def test_unreachable_telegram_is_retried_with_one_line_per_attempt(tmp_path: Path) -> None:
    port = closed_port()
    env = clean_env(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}/bot")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "-v",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        await _until_line(proc.stderr, "attempt 2:", seen)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(proc.communicate(), 30)
    err = "".join(seen) + rest.decode()
    assert proc.returncode == 0, err
    attempts = [line for line in err.splitlines() if "Telegram is unreachable" in line]
    assert [("attempt 1:" in attempts[0]), ("attempt 2:" in attempts[1])] == [True, True]
    assert "retrying in 1 s" in attempts[0] and "retrying in 2 s" in attempts[1]
    assert TOKEN not in err and TOKEN.split(":")[1] not in err
    assert "Traceback" not in err


async def test_real_run_on_a_database_with_sample_articles_warns_once(tmp_path: Path) -> None:
    samples = str(PROJECT_ROOT / "data" / "sample-articles.jsonl")
    env = clean_env(DATABASE_URL="sqlite:///bot.sqlite3")
    assert digestbot("import", samples, cwd=tmp_path, env=env).returncode == 0
    async with FakeTelegramServer(FakeTelegram(TOKEN)) as server:
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=server.base_url)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "-v",  # every library at DEBUG: getUpdates URLs carry the token, redacted
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stderr is not None
        seen: list[str] = []
        try:
            await _until_line(proc.stderr, "starting digestbot (long polling)", seen)
            await server.fake.wait_for(lambda: server.fake.requests_for("getUpdates"), timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, rest = await asyncio.wait_for(proc.communicate(), 30)
    err = "".join(seen) + rest.decode()
    assert proc.returncode == 0, err
    warnings = [line for line in err.splitlines() if "sample articles" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("digestbot: warning: this database holds 25 of the sandbox's")
    assert TOKEN not in err + out.decode() and TOKEN.split(":")[1] not in err
    assert "[REDACTED]/getUpdates" in err


def test_import_onto_a_full_disk_stops_at_the_first_error(tmp_path: Path) -> None:
    """A file size limit makes every write beyond it fail as on a full disk."""
    env = clean_env(DATABASE_URL="sqlite:///full.sqlite3")
    assert digestbot("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    big = tmp_path / "big.jsonl"
    with big.open("w", encoding="utf-8") as out:
        for index in range(3000):
            record = article_record(id=f"big-{index}", summary={"en": "x" * 500})
            out.write(json.dumps(record) + "\n")
    limit = (tmp_path / "full.sqlite3").stat().st_size + 256 * 1024

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "import", str(big)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=small_disk,
    )
    line = assert_one_line(result, "database error (sqlite:///full.sqlite3)")
    assert "disk" in line
