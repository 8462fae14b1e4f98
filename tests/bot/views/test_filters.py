"""The filters screen."""

from __future__ import annotations

import pytest

from bot.views import callbacks as cb
from bot.views.filters import render_filters
from storage.schemas import ChatFilters
from tests.bot.views.helpers import all_buttons, assert_rendered


def test_no_filters_says_none_and_offers_the_choices() -> None:
    text = assert_rendered(render_filters(ChatFilters(), "en"))
    assert "Muted keywords: none" in text and "Minimum score: off" in text
    assert "Only articles in English: off" in text
    data = [cb.decode(b.callback_data) for b in all_buttons(render_filters(ChatFilters(), "en")[1])]
    assert cb.SetMinScore(60) in data and cb.SetOwnLanguage(True) in data
    assert cb.ClearKeywords() not in data and cb.OpenSettings("main") in data


@pytest.mark.parametrize("lang", ["en", "zh", "zh_Hant"])
def test_filters_are_listed_escaped_and_undoable(lang: str) -> None:
    filters = ChatFilters(
        muted_tag_ids=frozenset({3, 9}),
        keywords=("<crypto>", "芯片"),
        min_score=70,
        own_language_only=True,
        muted_tags=((9, "政策"), (3, "Robotics")),
    )
    rendered = render_filters(filters, lang)
    text = assert_rendered(rendered)
    assert "&lt;crypto&gt;" in text and "70" in text
    data = [cb.decode(b.callback_data) for b in all_buttons(rendered[1])]
    assert cb.MuteTag(9, False) in data and cb.MuteTag(3, False) in data
    assert cb.ClearKeywords() in data and cb.SetOwnLanguage(False) in data
    labels = [b.text for b in all_buttons(rendered[1])]
    assert "✓ 70" in labels
    assert "“芯片”" in text  # keywords are shown as the chat typed them
    assert "Robotics" in text and "政策" in text
    if lang != "en":
        assert "、" in text and ", " not in text.split("\n", 3)[3].split("\n")[0]
