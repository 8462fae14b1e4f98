from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.articles import (
    ArticleData,
    TagData,
    article_id_for_external,
    article_views,
    count_articles,
    get_article_view,
    upsert_article,
)
from storage.models import Article, ArticleText, Tag
from storage.tags import find_tag, tags_with_counts
from tests.factories import make_article, upsert_tag

SHANGHAI = timezone(timedelta(hours=8))


def _data(**overrides: object) -> ArticleData:
    base = ArticleData(
        external_id="ext-1",
        url="https://example.com/a",
        source="AI News",
        published_at=datetime(2026, 6, 15, 9, 0, tzinfo=SHANGHAI),
        updated_at=datetime(2026, 6, 15, 14, 0, tzinfo=SHANGHAI),
        title={"en": "Title", "zh": "标题"},
        summary={"en": "Summary", "zh": "摘要"},
        analysis={"en": "Analysis"},
        hot=65,
        quality=65,
        impact=60,
        views=45,
        ai_generated=True,
        tags=(
            TagData("finance-ai", {"en": "Finance AI", "zh": "金融AI"}),
            TagData("research", {"en": "Research"}),
        ),
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def test_upsert_imports_then_reports_unchanged_without_touching_modified_at(
    any_engine: Engine,
) -> None:
    with Session(any_engine) as session:
        assert upsert_article(session=session, data=_data()) == "imported"
        session.commit()
        before = session.exec(select(Article)).one().modified_at
    with Session(any_engine) as session:
        assert upsert_article(session=session, data=_data()) == "unchanged"
        session.commit()
        article = session.exec(select(Article)).one()
        assert article.modified_at == before
        assert count_articles(session=session) == 1


def test_upsert_updates_fields_texts_and_tags(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        upsert_article(session=session, data=_data())
        session.commit()
        article_id = article_id_for_external(session=session, external_id="ext-1")
        assert article_id is not None
        changed = _data(
            title={"zh": "新标题"},
            summary={"zh": "新摘要"},
            analysis={},
            views=46,
            tags=(TagData("chips", {"en": "Chips"}),),
        )
        assert upsert_article(session=session, data=changed) == "updated"
        session.commit()
    with Session(any_engine) as session:
        view = get_article_view(session=session, article_id=article_id)
        assert view is not None
        assert dict(view.title) == {"zh": "新标题"}
        assert dict(view.summary) == {"zh": "新摘要"}
        assert dict(view.analysis) == {}
        assert view.views == 46
        assert [t.slug for t in view.tags] == ["chips"]
        langs = session.exec(select(ArticleText.lang)).all()
        assert langs == ["zh"]  # the English row was deleted, not left behind
        assert count_articles(session=session) == 1


def test_estimated_scores_alone_do_not_count_as_a_change(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        upsert_article(session=session, data=_data(scores_estimated=True, hot=80))
        session.commit()
        again = _data(scores_estimated=True, hot=70)
        assert upsert_article(session=session, data=again) == "unchanged"
        # Given scores replace estimated ones.
        assert upsert_article(session=session, data=_data(hot=70)) == "updated"
        session.commit()
        article = session.exec(select(Article)).one()
        assert (article.hot, article.scores_estimated) == (70, False)


def test_estimated_publication_time_is_kept_on_update(any_engine: Engine) -> None:
    first = datetime(2026, 1, 1, tzinfo=UTC)
    with Session(any_engine) as session:
        upsert_article(session=session, data=_data(published_at=first, published_at_estimated=True))
        later = _data(published_at=first + timedelta(hours=3), published_at_estimated=True)
        assert upsert_article(session=session, data=later) == "unchanged"
        assert upsert_article(session=session, data=dataclasses.replace(later, views=1)) == (
            "updated"
        )
        session.commit()
        assert session.exec(select(Article)).one().published_at == first


def test_view_has_aware_utc_times_and_both_tag_names(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        upsert_article(session=session, data=_data())
        session.commit()
    with Session(any_engine) as session:
        article_id = article_id_for_external(session=session, external_id="ext-1")
        assert article_id is not None
        view = get_article_view(session=session, article_id=article_id)
    assert view is not None
    assert view.published_at == datetime(2026, 6, 15, 1, 0, tzinfo=UTC)
    assert view.published_at.utcoffset() == timedelta(0)
    assert view.updated_at == datetime(2026, 6, 15, 6, 0, tzinfo=UTC)
    assert view.languages == ("en", "zh")
    assert dict(view.analysis) == {"en": "Analysis"}
    assert (view.hot, view.quality, view.impact, view.views, view.ai_generated) == (
        65,
        65,
        60,
        45,
        True,
    )
    finance = next(t for t in view.tags if t.slug == "finance-ai")
    assert dict(finance.names) == {"en": "Finance AI", "zh": "金融AI"}


def test_upsert_tag_merges_names(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        upsert_tag(session=session, slug="chips", names={"en": "Chips"})
        upsert_tag(session=session, slug="chips", names={"zh": "芯片"})
        upsert_tag(session=session, slug="chips", names={"en": "Chips & GPUs", "zh": ""})
        session.commit()
    with Session(any_engine) as session:
        tag = session.exec(select(Tag)).one()
        assert tag.names == {"en": "Chips & GPUs", "zh": "芯片"}


def test_renaming_a_tag_through_an_import_reports_updated(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        upsert_article(session=session, data=_data())
        renamed = _data(tags=(TagData("finance-ai", {"en": "AI in Finance"}), TagData("research")))
        assert upsert_article(session=session, data=renamed) == "updated"
        session.commit()
        finance = find_tag(session=session, text="finance-ai")
        assert finance is not None
        assert dict(finance.names) == {"en": "AI in Finance", "zh": "金融AI"}


def test_article_views_keep_order_and_use_constant_queries(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        ids = [make_article(session).id for _ in range(12)]
        assert all(i is not None for i in ids)
        wanted = [i for i in reversed(ids) if i is not None] + [999_999]
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(any_engine, "before_cursor_execute", count)
    try:
        with Session(any_engine) as session:
            views = article_views(session=session, ids=wanted)
    finally:
        event.remove(any_engine, "before_cursor_execute", count)
    assert [v.id for v in views] == wanted[:-1]
    assert all(v.languages == ("en", "zh") and len(v.tags) == 2 for v in views)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # articles, texts, tags, the newsroom's generated fields, duplicates ("also covered by")
    assert len(selects) == 5, selects


def test_tags_with_counts_and_find_tag(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        make_article(session, tags=["research"])
        make_article(session, tags=["research", {"slug": "chips", "name": {"zh": "芯片"}}])
        upsert_tag(session=session, slug="unused", names={"en": "Unused"})
        session.commit()
        infos = {t.slug: t.article_count for t in tags_with_counts(session=session)}
        assert infos == {"chips": 1, "research": 2, "unused": 0}
        by_slug = find_tag(session=session, text=" RESEARCH ")
        assert by_slug is not None and by_slug.article_count == 2
        by_zh = find_tag(session=session, text="芯片")
        assert by_zh is not None and by_zh.slug == "chips"
        by_en = find_tag(session=session, text="unUSED")
        assert by_en is not None and by_en.slug == "unused"
        assert find_tag(session=session, text="nothing") is None
        assert find_tag(session=session, text="  ") is None


def test_lookups_for_missing_things(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        assert article_id_for_external(session=session, external_id="nope") is None
        assert get_article_view(session=session, article_id=1) is None
        assert article_views(session=session, ids=[]) == []
        assert count_articles(session=session) == 0


def test_tags_created_in_a_rolled_back_transaction_are_not_reused(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        upsert_article(session=session, data=_data(external_id="gone"))
        session.rollback()
        assert upsert_article(session=session, data=_data()) == "imported"
        session.commit()
        assert {t.slug for t in tags_with_counts(session=session)} == {"finance-ai", "research"}
        assert all(t.article_count == 1 for t in tags_with_counts(session=session))
