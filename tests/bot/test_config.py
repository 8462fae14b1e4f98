from __future__ import annotations

import pytest

from bot.cli import main
from bot.config import ConfigError, Settings, load_settings


def test_defaults(settings: Settings) -> None:
    assert settings.default_language == "en"
    assert settings.default_timezone == "UTC"
    assert settings.default_digest_time == "08:00"
    assert settings.token is None


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("DIGESTBOT_ADMIN_IDS", "1, 22,333")
    monkeypatch.setenv("DIGESTBOT_FEEDS", "https://a.example/feed,feeds/local.xml")
    loaded = load_settings()
    assert loaded.admin_ids == [1, 22, 333]
    assert loaded.feeds == ["https://a.example/feed", "feeds/local.xml"]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DIGESTBOT_DEFAULT_TIMEZONE", "Mars/Base", "IANA time zone"),
        ("DIGESTBOT_DEFAULT_DIGEST_TIME", "25:99", "HH:MM"),
        ("DIGESTBOT_ADMIN_IDS", "12,abc", "integer"),
        ("DIGESTBOT_DEFAULT_LANGUAGE", "fr", "'en', 'zh' or 'zh_Hant'"),
        ("DIGESTBOT_FEED_INTERVAL", "5", "greater than or equal to 60"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    name: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert name in err and expected in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
