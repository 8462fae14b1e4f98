"""The interchange format: every field rule, with a message naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.content.records import RecordError, validate_record
from tests.bot.content.test_importer import NOW
from tests.factories import article_record


def _reason(**overrides: Any) -> str:
    with pytest.raises(RecordError) as info:
        validate_record(article_record(**overrides), now=NOW)
    return str(info.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"id": ""}, "id: String should have at least 1 character"),
        ({"id": "x" * 129}, "id: String should have at most 128 characters"),
        ({"id": "   "}, "id: must not be blank"),
        ({"id": 7}, "id: Input should be a valid string"),
        ({"url": "example.com/a"}, "url: not an http(s) URL"),
        ({"url": "javascript:alert(1)"}, "url: not an http(s) URL"),
        ({"title": {}}, "title: needs text in at least one language"),
        ({"title": {"en": "  "}}, "title: needs text in at least one language"),
        ({"summary": None}, "summary: required field is missing"),
        ({"title": {"english": "x"}}, "title: invalid language code 'english'"),
        ({"title": {"en": 5}}, "title.en: Input should be a valid string"),
        ({"summary": {"en": "a\x00b"}}, "summary.en: text contains a NUL character"),
        ({"scores": {"hot": 1, "quality": 2}}, "scores.impact: required field is missing"),
        ({"scores": {"hot": 101, "quality": 2, "impact": 3}}, "scores.hot: Input should be less"),
        (
            {"scores": {"hot": "5", "quality": 2, "impact": 3}},
            "scores.hot: Input should be a valid",
        ),
        (
            {"scores": {"hot": 5.5, "quality": 2, "impact": 3}},
            "scores.hot: Input should be a valid",
        ),
        ({"tags": ["Not A Slug"]}, "tags[0].slug: 'Not A Slug' is not a slug"),
        ({"tags": ["ok", {"slug": "x" * 33}]}, "tags[1].slug: "),
        ({"tags": [{"name": {"en": "X"}}]}, "tags[0].slug: required field is missing"),
        ({"tags": "chips"}, "tags: Input should be a valid list"),
        ({"published_at": None}, "published_at: required field is missing"),
        ({"published_at": "2026-06-15T09:00:00"}, "published_at: 2026-06-15T09:00:00 has no UTC"),
        ({"published_at": "2026-06-15"}, "published_at: 2026-06-15 has no UTC offset"),
        ({"published_at": "yesterday"}, "published_at: not an ISO-8601 date-time: 'yesterday'"),
        ({"published_at": 1781485200}, "published_at: expected an ISO-8601 date-time string"),
        ({"updated_at": "2026-06-15 14:00"}, "updated_at: 2026-06-15 14:00 has no UTC offset"),
        ({"views": -1}, "views: Input should be greater than or equal to 0"),
        ({"views": "3"}, "views: Input should be a valid integer"),
        ({"ai_generated": "yes"}, "ai_generated: Input should be a valid boolean"),
        ({"source": "s" * 201}, "source: String should have at most 200 characters"),
    ],
)
def test_validation_names_the_field(overrides: dict[str, Any], expected: str) -> None:
    assert _reason(**overrides).startswith(expected)


def test_valid_edge_cases_are_accepted() -> None:
    data = validate_record(
        article_record(
            id="x" * 128,
            title={"zh-Hant": "標題", "EN": "Title"},
            published_at="2026-06-15T01:00:00Z",
            updated_at=None,
            tags=["a", {"slug": "a", "name": {"zh": "甲"}}, {"slug": "b-2"}],
            something_new={"ignored": True},
            analysis={"en": "   "},
        ),
        now=NOW,
    )
    assert data.external_id == "x" * 128
    assert set(data.title) == {"zh-Hant", "en"}  # primary subtag lower-cased
    assert data.published_at == datetime(2026, 6, 15, 1, 0, tzinfo=UTC)
    assert data.updated_at is None
    assert [(t.slug, dict(t.names)) for t in data.tags] == [("a", {"zh": "甲"}), ("b-2", {})]
    assert dict(data.analysis) == {}
    with pytest.raises(RecordError, match="expected a JSON object, got str"):
        validate_record("nope", now=NOW)


def test_missing_scores_are_estimated() -> None:
    data = validate_record(article_record(scores=None, published_at=NOW.isoformat()), now=NOW)
    assert data.scores_estimated is True
    assert data.hot >= 70  # published right now
    assert 0 < data.quality <= 100 and 0 < data.impact <= 100
    given = validate_record(article_record(), now=NOW)
    assert (given.hot, given.quality, given.impact, given.scores_estimated) == (70, 60, 50, False)


# --- feeds ----------------------------------------------------------------------------------
