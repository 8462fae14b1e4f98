"""``digestbot enrich`` and the newsroom line of ``digestbot status``, through ``bot.cli.main``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from tests.bot.content.enrich.conftest import english_feed
from tests.fake_llm import FakeLlm, FakeLlmServer


def _recent_feed(tmp_path: Path) -> Path:
    # The CLI runs on the real clock: the entries must be recent for the newsroom to care.
    recent = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    text = english_feed().replace("Mon, 15 Jun 2026 09:00:00 +0800", recent)
    text = text.replace("Mon, 15 Jun 2026 08:00:00 +0800", recent)
    path = tmp_path / "wire.xml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def llm_env(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    fake_llm: FakeLlm,
    llm_server: FakeLlmServer,
) -> FakeLlm:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DIGESTBOT_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("DIGESTBOT_LLM_API_KEY", fake_llm.api_key)
    monkeypatch.setenv("DIGESTBOT_LLM_MODEL", fake_llm.model)
    return fake_llm


async def test_enrich_without_configuration_says_so_and_exits_2(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert await asyncio.to_thread(main, ["enrich"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "digestbot: the newsroom is off; set DIGESTBOT_LLM_BASE_URL and DIGESTBOT_LLM_MODEL"
    ]


async def test_enrich_dry_run_then_for_real_then_status(
    tmp_path: Path, llm_env: FakeLlm, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = _recent_feed(tmp_path)
    assert await asyncio.to_thread(main, ["import", str(feed)]) == 0
    capsys.readouterr()

    assert await asyncio.to_thread(main, ["enrich", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would ask for title zh, summary zh, analysis zh, scores" in out
    assert "would ask for title zh, summary zh, analysis en+zh, scores, tags" in out
    assert "dry run: 2 article(s) due, nothing sent" in out
    assert llm_env.chat_requests == []

    assert await asyncio.to_thread(main, ["enrich", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "enriched 1, failed 0, retry later 0; 1 request(s), 1,000 tokens" in out
    assert "enriched 1, pending 1, failed 0; tokens today 1,000 of 2,000,000" in out

    assert await asyncio.to_thread(main, ["enrich"]) == 0
    assert await asyncio.to_thread(main, ["status"]) == 0
    captured = capsys.readouterr()
    assert "newsroom: model fake-model; enriched 2, pending 0, failed 0; " in captured.out
    assert "tokens today 2,000 of 2,000,000" in captured.out
    assert llm_env.api_key not in captured.out + captured.err


async def test_enrich_reports_a_spent_budget_with_exit_1(
    tmp_path: Path,
    llm_env: FakeLlm,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DIGESTBOT_LLM_DAILY_TOKENS", "500")
    monkeypatch.setenv("DIGESTBOT_LLM_CONCURRENCY", "1")
    assert await asyncio.to_thread(main, ["import", str(_recent_feed(tmp_path))]) == 0
    assert await asyncio.to_thread(main, ["enrich"]) == 1
    captured = capsys.readouterr()
    assert "digestbot: the pass stopped early: daily token budget spent" in captured.err
    assert len(llm_env.chat_requests) == 1


def test_enrich_limit_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["enrich", "--limit", "0"])
    assert exit_info.value.code == 2
    assert "expected a positive whole number" in capsys.readouterr().err


async def test_a_bad_llm_url_is_one_line_and_exit_2(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DIGESTBOT_LLM_BASE_URL", "ftp://user:hunter2@example.com/v1")
    monkeypatch.setenv("DIGESTBOT_LLM_MODEL", "m")
    assert await asyncio.to_thread(main, ["enrich"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "digestbot: configuration error: DIGESTBOT_LLM_BASE_URL: expected the server's "
        "http(s) URL, e.g. http://127.0.0.1:11434/v1"
    ]
    assert "hunter2" not in err
