"""The settings screen and its pickers."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

import pytest

from bot.views.settings import (
    render_count_picker,
    render_language_picker,
    render_settings,
    render_time_picker,
    render_timezone_picker,
)
from storage.schemas import ChatSettings
from tests.bot.views.helpers import NOW, all_buttons, assert_rendered


def test_settings_screen() -> None:
    view = ChatSettings(
        chat_id=1,
        chat_type="private",
        language="en",
        timezone="Asia/Shanghai",
        digest_time="08:00",
        article_count=5,
        subscribed=True,
        followed_tag_ids=frozenset({1, 2}),
        followed_tag_names=("Finance AI", "<R&D>"),
        next_digest_at=None,
    )
    text, keyboard = render_settings(view, NOW)
    assert_rendered((text, keyboard))
    assert "English" in text and "Shanghai time (UTC+08:00)" in text and "08:00" in text
    assert "only Finance AI" in text  # following restricts: the words say so
    assert "&lt;R&amp;D&gt;" in text and "on" in text
    data = {b.callback_data for b in all_buttons(keyboard)}
    assert {"set:lang", "set:tz", "set:time", "set:cnt", "sub:0", "set:tags", "dg:now"} <= data
    zh = replace(view, language="zh", subscribed=False, followed_tag_names=())
    text, keyboard = render_settings(zh)
    assert_rendered((text, keyboard))
    assert "简体中文" in text and "关闭" in text and "全部话题" in text
    assert "sub:1" in {b.callback_data for b in all_buttons(keyboard)}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pickers(lang: str) -> None:
    text, keyboard = render_language_picker(lang, current="zh")
    assert_rendered((text, keyboard))
    labels = [b.text for b in all_buttons(keyboard)]
    assert "English" in labels and "✓ 简体中文" in labels and "繁體中文" in labels

    text, keyboard = render_count_picker(lang, current=5)
    assert_rendered((text, keyboard))
    data = [b.callback_data for b in all_buttons(keyboard)]
    assert [f"cnt:{n}" for n in range(1, 11)] == data[:10]

    text, keyboard = render_time_picker(lang, current=time(8, 0))
    assert_rendered((text, keyboard))
    assert "✓ 08:00" in [b.text for b in all_buttons(keyboard)]
    assert "/time" in text

    text, keyboard = render_timezone_picker(lang, NOW, current="Asia/Shanghai")
    assert_rendered((text, keyboard))
    assert "/timezone" in text
    data = [b.callback_data for b in all_buttons(keyboard)]
    assert "tz:Asia/Shanghai" in data and "set:main" in data
