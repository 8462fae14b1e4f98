"""Errors and confirmations, as HTML messages and as plain alert text."""

from __future__ import annotations

import pytest

from bot.views.notices import Notice, notice_text, render_notice
from tests.bot.views.helpers import assert_rendered


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("notice", list(Notice))
def test_every_notice_renders(lang: str, notice: Notice) -> None:
    params = {
        "value": "25:99",
        "id": 999999,
        "query": "x",
        "time": "08:00",
        "zone": "UTC",
        "count": 3,
        "tag": "AI",
        "language": "English",
        "limit": 200,
    }
    text = assert_rendered(render_notice(notice, lang, **params))
    assert text and "{" not in text and text != "?"
    plain = notice_text(notice, lang, **params)
    assert len(plain) <= 200  # fits answer_callback_query


def test_error_notices_content() -> None:
    assert "25:99" in notice_text(Notice.BAD_TIME, "en", value="25:99")
    assert "Mars/Base" in notice_text(Notice.BAD_TIMEZONE, "zh", value="Mars/Base")
    assert "999999" in notice_text(Notice.ARTICLE_NOT_FOUND, "en", id=999999)
    assert notice_text(Notice.ARGUMENT_TOO_LONG, "en", limit=1).endswith("1 character.")
    assert notice_text(Notice.ARGUMENT_TOO_LONG, "en", limit=200).endswith("200 characters.")
    assert "200 个字符" in notice_text(Notice.ARGUMENT_TOO_LONG, "zh", limit=200)
    assert notice_text(Notice.STALE_BUTTON, "zh") == "这个按钮已失效，请重新发送命令。"
    # Oversized echoed input is cut so the notice stays short.
    assert len(notice_text(Notice.BAD_TIME, "en", value="9" * 5000)) < 200
