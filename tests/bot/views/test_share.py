"""The share screen, deep links and the inline-mode card."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bot.views.share import inline_description, render_inline_card, render_share
from storage.schemas import ArticleView
from tests.bot.views.helpers import all_buttons, assert_rendered


def test_share(seed: ArticleView) -> None:
    text, keyboard = render_share(seed, "en", "@digest_bot")
    assert_rendered((text, keyboard))
    assert "https://t.me/digest_bot?start=a7" in text
    buttons = list(all_buttons(keyboard))
    chosen = [b for b in buttons if b.switch_inline_query_chosen_chat is not None]
    assert len(chosen) == 1
    sw = chosen[0].switch_inline_query_chosen_chat
    assert sw is not None and sw.query == "a7"
    assert sw.allow_user_chats and sw.allow_group_chats and sw.allow_channel_chats
    urls = [b.url for b in buttons if b.url]
    share = next(u for u in urls if u.startswith("https://t.me/share/url?"))
    query = parse_qs(urlsplit(share).query)
    assert query["url"] == ["https://t.me/digest_bot?start=a7"]
    assert query["text"] == [seed.title["en"]]
    assert "https://t.me/digest_bot?start=a7" in urls
    assert seed.url in urls


def test_inline_card(seed: ArticleView) -> None:
    text, keyboard = render_inline_card(seed, "zh", "digest_bot")
    assert_rendered((text, keyboard))
    assert "两市融资余额减少76.61亿元" in text
    (button,) = list(all_buttons(keyboard))
    assert button.url == "https://t.me/digest_bot?start=a7"
    assert "@digest_bot" in button.text
    description = inline_description(seed, "en")
    assert len(description) <= 200 and "&amp;" not in description
