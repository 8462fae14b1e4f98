"""Renderers, without Telegram: content, escaping, Telegram HTML validity and size limits."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.views import callbacks as cb
from bot.views import render as r
from bot.views.paging import TELEGRAM_LIMIT, utf16_len
from storage.schemas import ArticleView, TagInfo

SEED = Path("/work/shared/seed/seed-article.json")

# --- strict Telegram-HTML checker --------------------------------------------------------

_ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "tg-spoiler", "blockquote", "span",
}  # fmt: skip
_ENTITY_RE = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            self.errors.append(f"tag <{tag}> not allowed")
        if tag == "a":
            names = [name for name, _ in attrs]
            href = dict(attrs).get("href")
            if names != ["href"] or not href or not href.startswith(("http://", "https://")):
                self.errors.append(f"bad <a> attributes {attrs}")
        elif attrs:
            self.errors.append(f"unexpected attributes on <{tag}>: {attrs}")
        if tag in self.stack and tag != "span":
            self.errors.append(f"nested <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack})")
            return
        self.stack.pop()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing <{tag}/>")

    def handle_comment(self, data: str) -> None:
        self.errors.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.errors.append("declaration")


def assert_telegram_html(text: str) -> None:
    """Only Telegram's tags, balanced, attributes quoted, only valid entities, ≤ 4096."""
    assert utf16_len(text) <= TELEGRAM_LIMIT, utf16_len(text)
    # Every '&' must start a valid entity; every '<' must start a tag.
    for match in re.finditer("&", text):
        assert _ENTITY_RE.match(text, match.start()), text[match.start() : match.start() + 12]
    for match in re.finditer("<", text):
        assert re.match(r"</?[a-z-]+[ >]", text[match.start() : match.start() + 20]), text[
            match.start() : match.start() + 20
        ]
    assert ">" not in re.sub(r"<[^<>]*>", "", text), "stray '>'"
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    assert not parser.errors, parser.errors
    assert not parser.stack, f"unclosed tags {parser.stack}"


def _buttons(keyboard: InlineKeyboardMarkup | None) -> Iterator[InlineKeyboardButton]:
    if keyboard is None:
        return
    for row in keyboard.inline_keyboard:
        assert 1 <= len(row) <= r.MAX_ROW
        yield from row


def assert_keyboard_ok(keyboard: InlineKeyboardMarkup | None) -> None:
    for button in _buttons(keyboard):
        assert button.text
        if button.callback_data is not None:
            assert isinstance(button.callback_data, str)
            assert len(button.callback_data.encode()) <= 64
            assert cb.decode(button.callback_data) is not None, button.callback_data
        if button.url is not None:
            assert button.url.startswith(("https://", "http://"))


def assert_rendered(rendered: tuple[str, InlineKeyboardMarkup | None]) -> str:
    text, keyboard = rendered
    assert_telegram_html(text)
    assert_keyboard_ok(keyboard)
    return text


def test_checker_catches_bad_html() -> None:
    for bad in ["<b>x", "<b>x</i>", "a & b", "<script>x</script>", "1 < 2", "&foo;", "<br/>"]:
        with pytest.raises(AssertionError):
            assert_telegram_html(bad)
    assert_telegram_html('<b>ok</b> &amp; <a href="https://x.y/?a=1&amp;b=2">x</a>')


# --- fixtures ----------------------------------------------------------------------------


def _tag(i: int, en: str, zh: str, count: int = 0) -> TagInfo:
    return TagInfo(
        id=i, slug=en.lower().replace(" ", "-"), names={"en": en, "zh": zh}, article_count=count
    )


def _seed() -> ArticleView:
    data = json.loads(SEED.read_text(encoding="utf-8"))
    tags = tuple(
        TagInfo(id=i, slug=t["slug"], names=t["name"]) for i, t in enumerate(data["tags"], 1)
    )
    return ArticleView(
        id=7,
        external_id=data["id"],
        url=data["url"],
        source=data["source"],
        title=data["title"],
        summary=data["summary"],
        analysis=data["analysis"],
        hot=data["scores"]["hot"],
        quality=data["scores"]["quality"],
        impact=data["scores"]["impact"],
        published_at=datetime.fromisoformat(data["published_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        views=data["views"],
        ai_generated=data["ai_generated"],
        tags=tags,
    )


@pytest.fixture
def seed() -> ArticleView:
    if not SEED.is_file():
        pytest.skip("seed article not available")
    return _seed()


def _maximal(i: int) -> ArticleView:
    # Worst case for size: long titles full of characters that escape to 5-6 units.
    ugly = "<&>\"'" * 200
    return ArticleView(
        id=2**31 - 1 - i,
        external_id=f"x{i}",
        url="https://example.com/" + "a" * 2000,
        source="S" * 300,
        title={"en": "T&" * 1000 + " 😀" * 300, "zh": "标题" * 1000},
        summary={"en": ugly + " word" * 2000, "zh": "摘要" * 3000},
        analysis={"en": ("Sentence & <b>. " * 400 + "\n\n") * 10, "zh": "分析。" * 12000},
        hot=100,
        quality=100,
        impact=100,
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 2, tzinfo=UTC),
        views=2**31 - 1,
        ai_generated=True,
        tags=tuple(_tag(j, "Tag&" * 30, "标签" * 30) for j in range(12)),
    )


NOW = datetime(2026, 6, 16, 1, 0, tzinfo=UTC)  # seed published 2026-06-15 09:00+08:00 + 1 day


# --- article detail ----------------------------------------------------------------------


def _all_detail_pages(article: ArticleView, lang: str) -> list[str]:
    first_text, keyboard = r.render_article_detail(article, lang, 0, "Asia/Shanghai", NOW)
    total = len(r.analysis_pages(article, lang)) or 1
    texts = [first_text]
    assert_rendered((first_text, keyboard))
    for page in range(1, total):
        rendered = r.render_article_detail(article, lang, page, "Asia/Shanghai", NOW)
        texts.append(assert_rendered(rendered))
    return texts


def test_seed_detail_english(seed: ArticleView) -> None:
    text = assert_rendered(r.render_article_detail(seed, "en", 0, "Asia/Shanghai", NOW))
    assert (
        "<b>Two Markets&#x27; Margin Financing Balance Decreases by 76.61 Billion Yuan</b>" in text
    )
    assert "🔥 Hot 65 · ⭐ Quality 65 · 💥 Impact 60" in text
    assert "Finance AI · Product Launch · Research" in text
    assert "1 day ago · updated 19 hours ago" in text
    assert "45 views" in text
    assert "A single-day evaporation" in text
    assert "AI-generated content, for reference only" in text
    assert '<a href="https://example.com/ai-news/seed-margin-financing-2026">' in text
    assert "Silicon Valley" in text
    assert "金融AI" not in text and "两市" not in text


def test_seed_detail_chinese(seed: ArticleView) -> None:
    text = assert_rendered(r.render_article_detail(seed, "zh", 0, "Asia/Shanghai", NOW))
    assert "<b>两市融资余额减少76.61亿元</b>" in text
    assert "🔥 热度 65 · ⭐ 质量 65 · 💥 影响力 60" in text
    assert "金融AI · 产品发布 · 研究" in text
    assert "1天前 · 19小时前更新" in text
    assert "45 次浏览" in text
    assert "本文由 AI 生成，仅供参考" in text
    assert '<a href="https://example.com/ai-news/seed-margin-financing-2026">' in text
    assert "智能手机市场的警报" in text
    assert "Finance AI" not in text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_seed_detail_pages_cover_analysis(seed: ArticleView, lang: str) -> None:
    pages = _all_detail_pages(seed, lang)
    joined = "".join(pages)
    for paragraph in seed.analysis[lang].split("\n\n"):
        tail = paragraph.strip()[-30:].replace("'", "&#x27;").replace('"', "&quot;")
        assert tail in joined


def test_detail_navigation_buttons(seed: ArticleView) -> None:
    long = replace(seed, analysis={"en": "\n\n".join([seed.analysis["en"]] * 6)})
    total = len(r.analysis_pages(long, "en"))
    assert total >= 3
    _text, first = r.render_article_detail(long, "en", 0, "UTC", NOW)
    data = [b.callback_data for b in _buttons(first)]
    assert f"a:{long.id}:1" in data and "noop" in data and f"sh:{long.id}" in data
    text, middle = r.render_article_detail(long, "en", 1, "UTC", NOW)
    assert f"page 2/{total}" in text
    nav = [b.callback_data for b in middle.inline_keyboard[0]] if middle else []
    assert nav == [f"a:{long.id}:0", "noop", f"a:{long.id}:2"]
    # Out-of-range pages are clamped (a stale button after the article shrank).
    clamped, _ = r.render_article_detail(long, "en", 999, "UTC", NOW)
    assert f"page {total}/{total}" in clamped


def test_detail_pages_independent_of_now(seed: ArticleView) -> None:
    long = replace(seed, analysis={"en": "\n\n".join([seed.analysis["en"]] * 6)})
    assert r.analysis_pages(long, "en") == r.analysis_pages(long, "en")
    later = r.render_article_detail(long, "en", 2, "UTC", NOW + timedelta(days=400))[0]
    sooner = r.render_article_detail(long, "en", 2, "UTC", NOW)[0]
    assert later == sooner  # pages after the first carry no time-dependent parts


def test_detail_missing_language_is_labelled(seed: ArticleView) -> None:
    zh_only = replace(
        seed,
        title={"zh": seed.title["zh"]},
        summary={"zh": seed.summary["zh"]},
        analysis={"zh": seed.analysis["zh"]},
    )
    text = assert_rendered(r.render_article_detail(zh_only, "en", 0, "UTC", NOW))
    assert "Shown in Chinese — there is no English version." in text
    assert seed.title["zh"] in text
    assert "1 day ago" in text  # the interface stays English
    en_only = replace(seed, title={"en": seed.title["en"]})
    text = assert_rendered(r.render_article_detail(en_only, "zh", 0, "UTC", NOW))
    assert "以英文显示——本文暂无中文版本。" in text


def test_detail_without_disclaimer_or_analysis(seed: ArticleView) -> None:
    plain = replace(seed, ai_generated=False, analysis={}, updated_at=None, url="javascript:x")
    text, keyboard = r.render_article_detail(plain, "en", 0, "UTC", NOW)
    assert_rendered((text, keyboard))
    assert "AI-generated" not in text and "Analysis" not in text and "updated" not in text
    assert "<a " not in text  # non-http URLs never become links
    assert [b.callback_data for b in _buttons(keyboard)] == [f"sh:{plain.id}"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_maximal_article_detail_fits_every_page(lang: str) -> None:
    article = _maximal(0)
    pages = _all_detail_pages(article, lang)
    assert len(pages) > 3


def test_escaping_in_titles_and_user_text(seed: ArticleView) -> None:
    evil = replace(
        seed,
        title={"en": "<script>alert(1)</script> & co", "zh": "<b>粗体</b>&"},
        summary={"en": "1 < 2 && 3 > 2"},
        source="<i>evil</i>",
        url='https://example.com/?q="><script>&x=1',
        tags=(_tag(1, "<tag>&", "<标签>&"),),
    )
    for lang in ("en", "zh"):
        renders = [
            r.render_article_detail(evil, lang, 0, "UTC", NOW),
            r.render_article_list(r.top_header(lang), [evil], lang),
            r.render_share(evil, lang, "digest_bot"),
            r.render_inline_card(evil, lang, "digest_bot"),
            r.render_tags([_tag(1, "<tag>&", "<标签>&", 3)], set(), lang),
            r.render_welcome("<b>Eve</b> & Mallory", lang),
            r.render_notice(r.Notice.BAD_TIMEZONE, lang, value="<Mars/Base>&"),
            r.render_notice(r.Notice.NO_RESULTS, lang, query="<script>"),
        ]
        for rendered in renders:
            text = assert_rendered(rendered)
            assert "<script>" not in text
            assert "<i>evil</i>" not in text
    text = r.render_article_detail(evil, "en", 0, "UTC", NOW)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
    assert 'href="https://example.com/?q=&quot;&gt;&lt;script&gt;&amp;x=1"' in text


# --- lists -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_list_of_ten_maximal_articles_fits(lang: str) -> None:
    articles = [_maximal(i) for i in range(10)]
    for header in (
        r.top_header(lang),
        r.latest_header(lang),
        r.tag_header(_tag(1, "<x>" * 100, "标" * 300), lang),
        r.search_header("&" * 500, lang),
        r.digest_header(lang, "Asia/Shanghai", NOW),
    ):
        text, keyboard = r.render_article_list(header, articles, lang)
        assert_rendered((text, keyboard))
        assert "<b>10. " in text
    text, keyboard = r.render_digest(articles, lang, "Asia/Shanghai", NOW)
    assert_rendered((text, keyboard))
    buttons = list(_buttons(keyboard))
    assert [b.text for b in buttons if b.text.startswith("📖")] == [f"📖 {i}" for i in range(1, 11)]
    assert len([b for b in buttons if b.text.startswith("↗")]) == 10


def test_list_content(seed: ArticleView) -> None:
    text, keyboard = r.render_article_list(r.top_header("en"), [seed, seed], "en")
    assert_rendered((text, keyboard))
    assert "<b>1. Two Markets&#x27; Margin" in text and "<b>2. " in text
    assert "🔥 65 · ⭐ 65 · 💥 60" in text
    assert "Finance AI, Product Launch, Research" in text
    assert "…" in text  # the long summary is cut at a word boundary
    assert [b.callback_data for b in _buttons(keyboard)] == [
        "a:7:0",
        "a:7:0",
        "sh:7",
        "sh:7",
    ]
    zh = r.render_article_list(r.latest_header("zh"), [seed], "zh")[0]
    assert "金融AI, 产品发布, 研究" in zh and "最新文章" in zh


def test_digest_header_is_localized() -> None:
    moment = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert r.digest_header("en", "Asia/Shanghai", moment) == (
        "📰 <b>Your AI digest · Wed, Nov 25</b>"
    )
    assert r.digest_header("zh", "Asia/Shanghai", moment) == "📰 <b>你的 AI 日报 · 11月25日周三</b>"


def test_empty_list() -> None:
    text, keyboard = r.render_article_list(r.top_header("zh"), [], "zh")
    assert_rendered((text, keyboard))
    assert keyboard is None and "暂时还没有文章" in text


# --- share and inline --------------------------------------------------------------------


def test_share(seed: ArticleView) -> None:
    text, keyboard = r.render_share(seed, "en", "@digest_bot")
    assert_rendered((text, keyboard))
    assert "https://t.me/digest_bot?start=a7" in text
    buttons = list(_buttons(keyboard))
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
    text, keyboard = r.render_inline_card(seed, "zh", "digest_bot")
    assert_rendered((text, keyboard))
    assert "两市融资余额减少76.61亿元" in text
    (button,) = list(_buttons(keyboard))
    assert button.url == "https://t.me/digest_bot?start=a7"
    assert "@digest_bot" in button.text
    description = r.inline_description(seed, "en")
    assert len(description) <= 200 and "&amp;" not in description


# --- tags, settings, pickers, help -------------------------------------------------------


def test_tags_follow_buttons() -> None:
    tags = [_tag(i, f"Tag {i}", f"标签{i}", i) for i in range(1, 25)]
    text, keyboard = r.render_tags(tags, {2}, "en")
    assert_rendered((text, keyboard))
    assert "Tag 1</b> — 1 article" in text and "Tag 2</b> — 2 articles ✅" in text
    data = [b.callback_data for b in _buttons(keyboard)]
    assert "tag:1" in data and "fol:1:1" in data and "fol:2:0" in data
    assert "tags:1" in data  # next page
    zh, zh_keyboard = r.render_tags(tags, set(), "zh", page=2)
    assert_rendered((zh, zh_keyboard))
    assert "标签21" in zh and "21 篇文章" in zh
    assert r.render_tags([], set(), "en") == ("There are no tags yet.", None)


def test_settings_screen() -> None:
    view = r.ChatSettingsView(
        language="en",
        timezone="Asia/Shanghai",
        digest_time=time(8, 0),
        article_count=5,
        subscribed=True,
        followed_tags=("Finance AI", "<R&D>"),
    )
    text, keyboard = r.render_settings(view, NOW)
    assert_rendered((text, keyboard))
    assert "English" in text and "Shanghai (UTC+08:00)" in text and "08:00" in text
    assert "&lt;R&amp;D&gt;" in text and "on" in text
    data = {b.callback_data for b in _buttons(keyboard)}
    assert {"set:lang", "set:tz", "set:time", "set:cnt", "sub:0", "set:tags", "dg:now"} <= data
    zh = replace(view, language="zh", subscribed=False, followed_tags=())
    text, keyboard = r.render_settings(zh)
    assert_rendered((text, keyboard))
    assert "中文" in text and "关闭" in text and "无" in text
    assert "sub:1" in {b.callback_data for b in _buttons(keyboard)}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pickers(lang: str) -> None:
    text, keyboard = r.render_language_picker(lang, current="zh")
    assert_rendered((text, keyboard))
    labels = [b.text for b in _buttons(keyboard)]
    assert "English" in labels and "✓ 中文" in labels

    text, keyboard = r.render_count_picker(lang, current=5)
    assert_rendered((text, keyboard))
    data = [b.callback_data for b in _buttons(keyboard)]
    assert [f"cnt:{n}" for n in range(1, 11)] == data[:10]

    text, keyboard = r.render_time_picker(lang, current=time(8, 0))
    assert_rendered((text, keyboard))
    assert "✓ 08:00" in [b.text for b in _buttons(keyboard)]
    assert "/time" in text

    text, keyboard = r.render_timezone_picker(lang, NOW, current="Asia/Shanghai")
    assert_rendered((text, keyboard))
    assert "/timezone" in text
    data = [b.callback_data for b in _buttons(keyboard)]
    assert "tz:Asia/Shanghai" in data and "set:main" in data


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_welcome_and_help(lang: str) -> None:
    text, keyboard = r.render_welcome("Ada", lang)
    assert_rendered((text, keyboard))
    assert "Ada" in text
    assert {b.callback_data for b in _buttons(keyboard)} == {"sub:1", "set:lang"}
    assert_rendered(r.render_welcome(None, lang))
    text = assert_rendered(r.render_help(lang))
    commands = "start subscribe unsubscribe digest top latest article tags tag search share"
    commands += " language settings time timezone count help stats"
    for command in commands.split():
        assert f"/{command} — " in text
    assert len(r.command_descriptions(lang)) == len(r.COMMANDS)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("notice", list(r.Notice))
def test_every_notice_renders(lang: str, notice: r.Notice) -> None:
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
    text = assert_rendered(r.render_notice(notice, lang, **params))
    assert text and "{" not in text and text != "?"
    plain = r.notice_text(notice, lang, **params)
    assert len(plain) <= 200  # fits answer_callback_query


def test_error_notices_content() -> None:
    assert "25:99" in r.notice_text(r.Notice.BAD_TIME, "en", value="25:99")
    assert "Mars/Base" in r.notice_text(r.Notice.BAD_TIMEZONE, "zh", value="Mars/Base")
    assert "999999" in r.notice_text(r.Notice.ARTICLE_NOT_FOUND, "en", id=999999)
    assert r.notice_text(r.Notice.ARGUMENT_TOO_LONG, "en", limit=1).endswith("1 character.")
    assert r.notice_text(r.Notice.ARGUMENT_TOO_LONG, "en", limit=200).endswith("200 characters.")
    assert "200 个字符" in r.notice_text(r.Notice.ARGUMENT_TOO_LONG, "zh", limit=200)
    assert r.notice_text(r.Notice.STALE_BUTTON, "zh") == "这个按钮已失效，请重新发送命令。"
    # Oversized echoed input is cut so the notice stays short.
    assert len(r.notice_text(r.Notice.BAD_TIME, "en", value="9" * 5000)) < 200


def test_digest_has_read_share_and_settings_buttons() -> None:
    article = ArticleView(
        id=7,
        external_id="x",
        url="https://e.x/a",
        source=None,
        title={"en": "T"},
        summary={"en": "S"},
        analysis={},
        hot=1,
        quality=2,
        impact=3,
        published_at=NOW,
    )
    _text, keyboard = r.render_digest([article], "en", "UTC", NOW)
    assert keyboard is not None
    labels = [b.text for row in keyboard.inline_keyboard for b in row]
    assert labels == ["📖 1", "↗ 1", "⚙️ Settings"]
