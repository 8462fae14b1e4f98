"""The tag list with follow buttons."""

from __future__ import annotations

from bot.views.tags import render_tags
from tests.bot.views.helpers import all_buttons, assert_rendered, make_tag


def test_tags_follow_buttons() -> None:
    tags = [make_tag(i, f"Tag {i}", f"标签{i}", i) for i in range(1, 25)]
    text, keyboard = render_tags(tags, {2}, "en")
    assert_rendered((text, keyboard))
    assert "Tag 1</b> — 1 article" in text and "Tag 2</b> — 2 articles ✅" in text
    data = [b.callback_data for b in all_buttons(keyboard)]
    assert "tag:1" in data and "fol:1:1" in data and "fol:2:0" in data
    assert "tags:1" in data  # next page
    zh, zh_keyboard = render_tags(tags, set(), "zh", page=2)
    assert_rendered((zh, zh_keyboard))
    assert "标签21" in zh and "21 篇文章" in zh
    assert render_tags([], set(), "en") == ("There are no tags yet.", None)
