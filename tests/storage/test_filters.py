"""Chat filters in SQL, on SQLite and PostgreSQL: muted tags and keywords (plain, any case,
every language, Traditional spelling too), minimum score, only my language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.catalog.ranking import apply_filters, hidden_count, ranked_article_ids, spec_for
from bot.config import Settings
from storage.chats import ensure_chat
from storage.filters import (
    FilterSpec,
    filters_for_chats,
    get_filters,
    keep_matching,
    set_tag_muted,
    update_filters,
)
from storage.models import Tag
from storage.ranking import RankWeights
from storage.schemas import ChatFilters
from tests.factories import make_article

NOW = datetime.now(UTC)


def _chat(session: Session, chat_id: int = 1) -> None:
    ensure_chat(
        session=session,
        chat_id=chat_id,
        chat_type="private",
        title=None,
        language="en",
        timezone="UTC",
        digest_time="08:00",
        article_count=5,
    )
    session.commit()


def _ids(session: Session, settings: Settings, spec: FilterSpec | None) -> list[int]:
    return ranked_article_ids(
        session=session, settings=settings, now=NOW, limit=50, window="all", filters=spec
    )


def test_filters_round_trip_and_apply_in_the_ranking(
    any_engine: Engine, settings: Settings
) -> None:
    with Session(any_engine) as session:
        _chat(session)
        chip = make_article(
            session,
            title={"en": "New AI CHIP ships", "zh": "新AI芯片发货"},
            summary={"en": "Fast.", "zh": "很快。"},
            tags=["chips"],
        ).id
        quiet = make_article(
            session,
            title={"en": "A policy note", "zh": "政策说明"},
            summary={"en": "It mentions 100% nothing_special.", "zh": "无"},
            tags=["policy"],
            hot=90,
            quality=90,
            impact=90,
        ).id
        low = make_article(
            session, title={"en": "Low"}, summary={"en": "Low."}, hot=5, quality=5, impact=5
        ).id
        chinese_only = make_article(
            session, title={"zh": "只有中文"}, summary={"zh": "中文摘要"}, tags=["policy"]
        ).id
        everything = _ids(session, settings, None)
        assert {chip, quiet, low, chinese_only} <= set(everything)

        # Keywords: plain substrings, any case, any language; "%" and "_" are not wildcards.
        update_filters(session=session, chat_id=1, keywords=["chip"])
        session.commit()
        stored = get_filters(session=session, chat_id=1)
        assert stored.keywords == ("chip",)
        spec = spec_for(stored, "en")
        assert spec is not None
        assert chip not in _ids(session, settings, spec)
        traditional = spec_for(ChatFilters(keywords=("晶片",)), "zh_Hant")
        assert traditional is not None and "芯片" in traditional.keywords
        assert chip not in _ids(session, settings, traditional)
        wildcard = FilterSpec(
            keywords=("1_0", "n%g")
        )  # as patterns they would match "100", "nothing"
        assert quiet in _ids(session, settings, wildcard) and low in _ids(
            session, settings, wildcard
        )

        # Muted tags, minimum score, only my language.
        policy = session.exec(Tag.__table__.select().where(Tag.slug == "policy")).one()  # type: ignore[attr-defined]
        set_tag_muted(session=session, chat_id=1, tag_id=policy.id, muted=True)
        set_tag_muted(session=session, chat_id=1, tag_id=policy.id, muted=True)  # idempotent
        update_filters(session=session, chat_id=1, min_score=30, own_language_only=True)
        session.commit()
        stored = get_filters(session=session, chat_id=1)
        assert stored.muted_tag_ids == {policy.id} and stored.min_score == 30
        spec = spec_for(stored, "en")
        assert spec is not None
        kept = _ids(session, settings, spec)
        assert not {chip, quiet, low, chinese_only} & set(kept)
        assert filters_for_chats(session=session, chat_ids=[1, 2]) == {1: stored}
        weights = RankWeights()
        ordered = [low, quiet, chip, chinese_only]
        assert keep_matching(
            session=session, ids=ordered, spec=FilterSpec(min_score=30), weights=weights
        ) == [
            quiet,
            chip,
            chinese_only,
        ]
        assert (
            apply_filters(session=session, settings=settings, ids=ordered, filters=None) == ordered
        )
        # Only my language, for a Chinese reader: the Chinese-only article stays.
        zh_spec = spec_for(ChatFilters(own_language_only=True), "zh_Hant")
        assert zh_spec is not None and chinese_only in _ids(session, settings, zh_spec)
        assert low not in _ids(session, settings, zh_spec)


def test_hidden_count_is_the_top_articles_the_filters_removed() -> None:
    assert hidden_count([3, 4, 6], [1, 3, 4]) == 1
    assert hidden_count([1, 2], [1, 2]) == 0


def test_no_filters_means_no_spec() -> None:
    assert spec_for(ChatFilters(), "en") is None
    assert FilterSpec().active is False


def test_published_window_is_untouched(any_engine: Engine, settings: Settings) -> None:
    with Session(any_engine) as session:
        old = make_article(session, published_at=NOW - timedelta(days=30)).id
        assert old in _ids(session, settings, FilterSpec(min_score=10))
