"""The subscribe conversation's reply: first delivery in local words, one-tap zones and times."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.views import callbacks as cb
from bot.views.subscribe import (
    LIKELY_ZONES,
    first_delivery,
    other_choice_text,
    render_subscribed,
)
from storage.schemas import ChatSettings
from tests.bot.views.helpers import all_buttons, assert_rendered

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai and Taipei


def _settings(lang: str, zone: str, due: datetime | None) -> ChatSettings:
    return ChatSettings(
        chat_id=1,
        chat_type="private",
        language=lang,
        timezone=zone,
        digest_time="08:00",
        article_count=5,
        subscribed=True,
        followed_tag_ids=frozenset(),
        followed_tag_names=(),
        next_digest_at=due,
    )


TOMORROW_8_CST = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "zone", "expected"),
    [
        ("en", "Asia/Shanghai", "First digest tomorrow at 08:00, Shanghai time (UTC+08:00)."),
        ("zh", "Asia/Shanghai", "第一份摘要将于明天 08:00 送达，时区：上海时间（UTC+08:00）。"),
        ("zh_Hant", "Asia/Taipei", "第一份摘要將於明天 08:00 送達，時區：台北時間（UTC+08:00）。"),
        ("en", "UTC+08:00", "First digest tomorrow at 08:00, UTC+08:00."),
    ],
)
def test_first_delivery_in_local_words(lang: str, zone: str, expected: str) -> None:
    assert first_delivery(_settings(lang, zone, TOMORROW_8_CST), NOW) == expected


def test_first_delivery_today_and_later() -> None:
    today = _settings("en", "UTC", datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    assert first_delivery(today, NOW).startswith("First digest today at 08:00, UTC.")
    later = _settings("en", "UTC", datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    assert "Fri, Nov 27" in first_delivery(later, NOW)
    unknown = _settings("en", "UTC", None)
    assert first_delivery(unknown, NOW) == "The digest arrives every day at 08:00, UTC."


@pytest.mark.parametrize("lang", ["en", "zh", "zh_Hant"])
def test_the_reply_offers_likely_zones_common_times_and_other(lang: str) -> None:
    view = _settings(lang, LIKELY_ZONES[lang][0], TOMORROW_8_CST)  # type: ignore[index]
    text = assert_rendered(render_subscribed(view, NOW))
    assert text.startswith("✅ <b>")
    buttons = list(all_buttons(render_subscribed(view, NOW)[1]))
    data = [cb.decode(b.callback_data) for b in buttons]
    zones = [d.zone for d in data if isinstance(d, cb.OnboardZone)]
    assert zones == list(LIKELY_ZONES[lang])  # type: ignore[index]
    pairs = zip(buttons, data, strict=True)
    zone_labels = [b.text for b, d in pairs if isinstance(d, cb.OnboardZone)]
    assert zone_labels[0].startswith("✓ ")  # the current zone is ticked
    times = [d.hhmm for d in data if isinstance(d, cb.OnboardTime)]
    assert "08:00" in times and len(times) >= 4
    assert {cb.OnboardOther("tz"), cb.OnboardOther("time")} <= set(data)
    assert cb.OpenSettings("main") in data


def test_zone_lists_per_language() -> None:
    assert LIKELY_ZONES["zh"][:4] == (
        "Asia/Shanghai",
        "Asia/Taipei",
        "Asia/Hong_Kong",
        "Asia/Singapore",
    )
    assert LIKELY_ZONES["zh_Hant"][:3] == ("Asia/Taipei", "Asia/Hong_Kong", "Asia/Macau")


def test_zone_buttons_are_city_names_in_the_readers_script() -> None:
    view = replace(_settings("zh_Hant", "UTC", TOMORROW_8_CST))
    labels = [b.text for b in all_buttons(render_subscribed(view, NOW)[1])]
    assert {"台北", "香港", "澳門"} <= set(labels)


@pytest.mark.parametrize("lang", ["en", "zh", "zh_Hant"])
def test_other_explains_the_commands(lang: str) -> None:
    assert "/timezone" in other_choice_text(lang, "tz")
    assert "/time" in other_choice_text(lang, "time")
    assert len(other_choice_text(lang, "tz")) <= 200  # an alert's limit
