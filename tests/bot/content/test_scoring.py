from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.content.langdetect import cjk_share, detect_language
from bot.content.scoring import ScoreInput, Scores, hot_score, impact_score, quality_score, score

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
ages = st.floats(min_value=0, max_value=24 * 365, allow_nan=False)
view_counts = st.integers(min_value=0, max_value=10**9)
texts = st.text(min_size=0, max_size=400)


@given(ages, ages, view_counts)
def test_newer_is_hotter(age_a: float, age_b: float, views: int) -> None:
    newer, older = sorted([age_a, age_b])
    assert hot_score(NOW - timedelta(hours=newer), views, NOW) >= hot_score(
        NOW - timedelta(hours=older), views, NOW
    )


@given(ages, view_counts, view_counts)
def test_more_views_is_hotter(age: float, views_a: int, views_b: int) -> None:
    fewer, more = sorted([views_a, views_b])
    published = NOW - timedelta(hours=age)
    assert hot_score(published, more, NOW) >= hot_score(published, fewer, NOW)


def test_hot_has_a_24_hour_half_life_and_log_views() -> None:
    assert hot_score(NOW, 0, NOW) == 70
    assert hot_score(NOW - timedelta(hours=24), 0, NOW) == 35
    assert hot_score(NOW - timedelta(hours=48), 0, NOW) == 18  # 17.5, rounded half to even
    assert hot_score(NOW + timedelta(hours=5), 0, NOW) == 70  # future dates count as now
    assert hot_score(NOW - timedelta(days=60), 100_000, NOW) == 30
    assert hot_score(NOW, 10**9, NOW) == 100
    assert hot_score(NOW - timedelta(days=60), 99, NOW) == 12  # log10(100)/log10(100001)*30


@given(
    st.dictionaries(st.sampled_from(["en", "zh", "fr"]), texts, max_size=3),
    st.dictionaries(st.sampled_from(["en", "zh", "fr"]), texts, max_size=3),
    st.dictionaries(st.sampled_from(["en", "zh", "fr"]), texts, max_size=3),
    st.sampled_from(["en", "zh", "fr"]),
    texts,
)
def test_more_complete_is_higher_quality(
    title: dict[str, str],
    summary: dict[str, str],
    analysis: dict[str, str],
    lang: str,
    extra: str,
) -> None:
    base = quality_score(title, summary, analysis)
    assert 0 <= base <= 100
    # Adding a language, or lengthening any text, never lowers quality.
    assert quality_score({lang: "T", **title}, {lang: "S", **summary}, analysis) >= base
    longer_summary = {k: v + extra for k, v in summary.items()}
    assert quality_score(title, longer_summary, analysis) >= base
    longer_analysis = {**analysis, lang: analysis.get(lang, "") + extra}
    assert quality_score(title, summary, longer_analysis) >= base


def test_quality_components() -> None:
    assert quality_score({}, {}, {}) == 0
    assert quality_score({"en": "T"}, {"en": "x" * 300}, {}) == 40
    assert quality_score({"en": "T", "zh": "标"}, {"en": "x" * 300, "zh": "摘"}, {}) == 60
    full = quality_score({"en": "T", "zh": "标"}, {"en": "x" * 300}, {"zh": "析" * 1000})
    assert full == 20 + 15 + 20 + 25  # zh lacks a summary, so only en is complete
    assert quality_score({"zh": "标"}, {"zh": "摘" * 100}, {}) == 40  # 100 ideographs = 300


def test_impact_from_tags_and_keywords() -> None:
    assert impact_score({"en": "A quiet day"}, {}, []) == 10
    assert impact_score({"en": "EU passes AI Act regulation"}, {}, []) == 40
    assert impact_score({"zh": "英伟达发布新芯片"}, {}, []) == 10 + 25 + 25
    assert impact_score({"en": "Nothing"}, {}, ["chips"]) == 10 + 5 + 25
    # Whole words only: "banana" is no ban, "chipset" no chip.
    assert impact_score({"en": "banana chipset"}, {}, []) == 10
    everything = impact_score(
        {"en": "regulation funding chips release research safety"}, {}, ["a", "b", "c", "d"]
    )
    assert everything == 100


@given(texts, texts, st.lists(st.from_regex(r"[a-z0-9-]{1,32}", fullmatch=True), max_size=5))
def test_scores_are_bounded_and_deterministic(title: str, summary: str, tags: list[str]) -> None:
    item = ScoreInput(
        published_at=NOW - timedelta(hours=3),
        title={"en": title},
        summary={"en": summary},
        tags=tags,
    )
    first = score(item, NOW)
    assert first == score(item, NOW)
    assert all(0 <= v <= 100 for v in (first.hot, first.quality, first.impact))


def test_seed_like_article_scores() -> None:
    item = ScoreInput(
        published_at=NOW - timedelta(hours=24),
        title={"en": "Two Markets' Margin Financing Balance Decreases", "zh": "两市融资余额减少"},
        summary={"en": "x" * 400, "zh": "摘" * 200},
        analysis={"en": "y" * 5000},
        views=45,
        tags=["finance-ai", "product-launch", "research"],
    )
    assert score(item, NOW) == Scores(hot=35 + 10, quality=100, impact=10 + 15 + 25 + 25 + 15)


def test_language_detection_by_script() -> None:
    assert detect_language("两市融资余额减少76.61亿元") == "zh"
    assert detect_language("英伟达发布新GPU Blackwell") == "zh"
    assert detect_language("Zhipu (智谱) launches a new open-weight model today") == "en"
    assert detect_language("12345 !!!") == "en"
    assert cjk_share("") == 0.0
