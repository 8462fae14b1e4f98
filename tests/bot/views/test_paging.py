"""Paging: every page fits once escaped, nothing is lost, words stay whole."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.rules import MESSAGE_LIMIT, utf16_len
from bot.views.paging import cost, escape, paginate, truncate

SEED = Path("/work/shared/seed/seed-article.json")


def _squash(text: str) -> str:
    return "".join(text.split())


def _seed_analysis() -> dict[str, str]:
    if SEED.is_file():
        data = json.loads(SEED.read_text(encoding="utf-8"))
        return dict(data["analysis"])
    para = "Silicon Valley's AI titans & <friends> are hitting the brakes. " * 20
    return {"en": "\n\n".join([para] * 8), "zh": "智能手机市场的警报已经响得不能再响了。" * 300}


def test_utf16_len_counts_astral_characters_twice() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("你好") == 2
    assert utf16_len("😀") == 2
    assert utf16_len("👨‍👩‍👧") == 8  # 3 astral + 2 ZWJ


def test_blank_text_has_no_pages() -> None:
    assert paginate("", 100) == []
    assert paginate(" \n\n \t", 100) == []


def test_short_text_is_one_page() -> None:
    assert paginate("  Hello world.  ", 100) == ["Hello world."]


def test_prefers_paragraph_boundaries() -> None:
    text = "First paragraph here.\n\nSecond paragraph here."
    assert paginate(text, 30) == ["First paragraph here.", "Second paragraph here."]


def test_then_sentence_boundaries() -> None:
    text = "One two three. Four five six! Seven eight nine?"
    pages = paginate(text, 32)
    assert pages == ["One two three. Four five six!", "Seven eight nine?"]


def test_cjk_sentences_split_after_full_stop() -> None:
    pages = paginate("你好。世界！“引号。”好的", 6)
    assert pages == ["你好。世界！", "“引号。”", "好的"]


def test_then_whitespace_never_mid_word() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta"
    pages = paginate(text, 12)
    assert [w for p in pages for w in p.split()] == text.split()
    assert all(cost(p) <= 12 for p in pages)


def test_overlong_word_is_cut_between_characters() -> None:
    pages = paginate("x" * 25, 10)
    assert pages == ["x" * 10, "x" * 10, "x" * 5]


def test_escaping_counts_toward_the_limit_and_entities_are_never_cut() -> None:
    text = "&" * 12  # each costs 5 as &amp;
    pages = paginate(text, 10)
    assert pages == ["&&"] * 6
    for page in pages:
        escaped = escape(page)
        assert html.unescape(escaped) == page
        assert escaped.count("&amp;") == 2


def test_emoji_zwj_sequence_not_split_when_avoidable() -> None:
    family = "👨‍👩‍👧"
    pages = paginate("a" + family * 3, 9)
    assert "".join(pages) == "a" + family * 3
    for page in pages:
        assert not page.startswith("\u200d")
        assert not page.endswith("\u200d")


def test_first_page_has_its_own_limit() -> None:
    text = " ".join(["word"] * 200)
    pages = paginate(text, 100, first_limit=20)
    assert cost(pages[0]) <= 20
    assert all(cost(p) <= 100 for p in pages[1:])
    assert [w for p in pages for w in p.split()] == text.split()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_seed_analysis_and_a_30k_version_fit(lang: str) -> None:
    base = _seed_analysis()[lang]
    long = "\n\n".join([base] * max(1, 30_000 // len(base) + 1))
    assert len(long) >= 30_000
    limit = MESSAGE_LIMIT - 300
    pages = paginate(long, limit)
    assert len(pages) > 1
    assert all(cost(p) <= limit for p in pages)
    assert _squash("".join(pages)) == _squash(long)
    assert paginate(long, limit) == pages  # deterministic


def test_invalid_limits_rejected() -> None:
    with pytest.raises(ValueError):
        paginate("abc", 0)
    with pytest.raises(ValueError):
        paginate("abc", 10, first_limit=0)


def test_truncate_at_word_boundary() -> None:
    assert truncate("hello wonderful world", 100) == "hello wonderful world"
    assert truncate("hello wonderful world", 18) == "hello wonderful…"
    assert truncate("你好世界你好世界", 6) == "你好世界你…"
    assert cost(truncate("<&>" * 50, 40)) <= 40
    assert truncate("abc", 0) == ""


# --- properties --------------------------------------------------------------------------

_ALPHABET = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    st.sampled_from(list("<&>\"' \n.!?。！？你好世界😀👍🏽🇨🇳\u200d")),
)
_TEXT = st.text(alphabet=_ALPHABET, max_size=400)
_WORD = st.text(alphabet=st.sampled_from(list("abcxyz&<>😀é")), min_size=1, max_size=12)
_SEP = st.sampled_from([" ", "  ", "\n", "\n\n", ". ", "! ", "? "])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXT, limit=st.integers(min_value=12, max_value=300))
def test_property_pages_fit_and_preserve_content(text: str, limit: int) -> None:
    pages = paginate(text, limit)
    assert all(page and page == page.strip() for page in pages)
    assert all(cost(page) <= limit for page in pages)
    assert _squash("".join(pages)) == _squash(text)
    assert paginate(text, limit) == pages


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.tuples(_WORD, _SEP), min_size=1, max_size=80),
    limit=st.integers(min_value=60, max_value=400),
)
def test_property_space_separated_words_never_split(
    words: list[tuple[str, str]], limit: int
) -> None:
    text = "".join(w + s for w, s in words)
    pages = paginate(text, limit)
    # Every word (≤ 12 chars, ≤ 60 units escaped) fits a page, so none may be cut.
    assert [w for p in pages for w in p.split()] == text.split()
    assert all(cost(p) <= limit for p in pages)


@settings(max_examples=200, deadline=None)
@given(
    text=_TEXT,
    limit=st.integers(min_value=12, max_value=200),
    first=st.integers(min_value=12, max_value=200),
)
def test_property_first_limit(text: str, limit: int, first: int) -> None:
    pages = paginate(text, limit, first_limit=first)
    if pages:
        assert cost(pages[0]) <= first
    assert all(cost(p) <= limit for p in pages[1:])
    assert _squash("".join(pages)) == _squash(text)


@settings(max_examples=200, deadline=None)
@given(text=_TEXT, budget=st.integers(min_value=0, max_value=120))
def test_property_truncate_fits(text: str, budget: int) -> None:
    out = truncate(text, budget)
    assert cost(out) <= budget
    if cost(" ".join(text.split())) <= budget:
        assert out == " ".join(text.split())
    else:
        assert out == "" or out.endswith("…")
