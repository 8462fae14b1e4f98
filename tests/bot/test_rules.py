"""The shared rules: language resolution, Telegram's length measure, the loopback check."""

from __future__ import annotations

import pytest

from bot.rules import (
    LANGUAGES,
    is_language,
    is_loopback_host,
    language_from_code,
    resolve_language,
    utf16_len,
)


@pytest.mark.parametrize(
    ("stored", "telegram", "default", "expected"),
    [
        ("zh", "en", "en", "zh"),
        ("en", "zh-hans", "zh", "en"),
        (None, "zh", "en", "zh"),
        (None, "zh-hans", "en", "zh"),
        (None, "zh-hant", "en", "zh_Hant"),
        (None, "zh-CN", "en", "zh"),
        (None, "zh-TW", "en", "zh_Hant"),
        (None, "zh_HK", "en", "zh_Hant"),
        (None, "zh-mo", "en", "zh_Hant"),
        (None, "zh-Hant-TW", "en", "zh_Hant"),
        (None, "zh-Hans-HK", "en", "zh"),
        ("zh_Hant", "en", "en", "zh_Hant"),
        (None, "de", "zh", "en"),
        (None, "en-US", "zh", "en"),
        (None, None, "zh", "zh"),
        (None, "", "zh", "zh"),
        ("", None, "en", "en"),
        (None, None, "fr", "en"),
        ("  ", "zh-sg", "en", "zh"),
    ],
)
def test_resolve_language(
    stored: str | None, telegram: str | None, default: str, expected: str
) -> None:
    assert resolve_language(stored, telegram, default) == expected


def test_languages_and_codes() -> None:
    assert LANGUAGES == ("en", "zh", "zh_Hant")
    assert is_language("zh") and is_language("zh_Hant") and not is_language("zh-CN")
    assert not is_language(None)
    assert language_from_code(None) is None and language_from_code("  ") is None
    assert language_from_code("ZH_tw") == "zh_Hant" and language_from_code("pt-BR") == "en"
    assert language_from_code("zh-sg") == "zh"


def test_utf16_len_counts_surrogate_pairs() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("标题") == 2
    assert utf16_len("😀") == 2
    assert utf16_len("a😀b") == 4


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.168.1.2", False),
        ("example.com", False),
    ],
)
def test_is_loopback_host(host: str, expected: bool) -> None:
    assert is_loopback_host(host) is expected
