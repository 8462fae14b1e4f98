from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, event, inspect, literal, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.catalog.ranking import digest_candidates, top_for_tags, top_today, weights_from_settings
from bot.config import Settings
from storage.db import alembic_config, upgrade
from storage.models import Article, ArticleTag, Chat, ChatTag, DeliveredArticle, Tag
from storage.ranking import RankWeights, latest_article_ids, top_article_ids
from tests.factories import count_candidates, mark_delivered

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
W = RankWeights()
_seq = itertools.count()


def add_article(
    session: Session,
    *,
    hours_ago: float = 1,
    hot: int = 50,
    quality: int = 50,
    impact: int = 50,
    tags: tuple[int, ...] = (),
) -> int:
    article = Article(
        external_id=f"ext-{next(_seq)}",
        url="https://example.org/a",
        hot=hot,
        quality=quality,
        impact=impact,
        published_at=NOW - timedelta(hours=hours_ago),
    )
    session.add(article)
    session.flush()
    assert article.id is not None
    for tag_id in tags:
        session.add(ArticleTag(article_id=article.id, tag_id=tag_id))
    session.flush()
    return article.id


def add_tag(session: Session, slug: str) -> int:
    tag = Tag(slug=slug, names={"en": slug})
    session.add(tag)
    session.flush()
    assert tag.id is not None
    return tag.id


def add_chat(session: Session, chat_id: int, *, follows: tuple[int, ...] = ()) -> int:
    session.add(Chat(id=chat_id, type="private"))
    session.flush()
    for tag_id in follows:
        session.add(ChatTag(chat_id=chat_id, tag_id=tag_id))
    session.flush()
    return chat_id


def top(session: Session, chat_id: int | None = None, **kwargs: object) -> list[int]:
    options: dict[str, object] = {"limit": 50, "since": NOW - timedelta(hours=48), "weights": W}
    options.update(kwargs)
    return top_article_ids(session=session, chat_id=chat_id, **options)  # type: ignore[arg-type]


def test_window_bounds_are_inclusive_and_order_is_by_score(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        low = add_article(s, hours_ago=1, hot=10, quality=10, impact=10)
        high = add_article(s, hours_ago=47, hot=90, quality=90, impact=90)
        edge = add_article(s, hours_ago=48, hot=50)
        add_article(s, hours_ago=49, hot=100, quality=100, impact=100)  # too old
        add_article(s, hours_ago=-1, hot=100, quality=100, impact=100)  # in the future
        s.commit()
        assert top(s, until=NOW) == [high, edge, low]
        assert len(top(s)) == 4  # no upper bound: the future article is included
        assert count_candidates(session=s, chat_id=None, since=NOW - timedelta(hours=48)) == 4


def test_delivered_articles_are_excluded_for_that_chat_only(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        a = add_article(s, hot=90)
        b = add_article(s, hot=80)
        c = add_article(s, hot=70)
        add_chat(s, 1)
        add_chat(s, 2)
        s.add(DeliveredArticle(chat_id=1, article_id=a, delivered_at=NOW))
        s.commit()
        assert top(s, 1) == [b, c]
        assert top(s, 2) == [a, b, c]
        assert top(s, 1, exclude_delivered=False) == [a, b, c]
        mark_delivered(session=s, chat_id=1, article_ids=[b, b, a], delivered_at=NOW)
        s.commit()
        assert top(s, 1) == [c]
        assert count_candidates(session=s, chat_id=1, since=NOW - timedelta(hours=48)) == 1


def test_followed_tags_filter_and_no_tags_means_all(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        llm = add_tag(s, "llm")
        robots = add_tag(s, "robots")
        chips = add_tag(s, "chips")
        a = add_article(s, hot=90, tags=(llm,))
        b = add_article(s, hot=80, tags=(robots, llm))
        c = add_article(s, hot=70, tags=(chips,))
        d = add_article(s, hot=60)
        add_chat(s, 1, follows=(llm,))
        add_chat(s, 2, follows=(robots, chips))
        add_chat(s, 3)
        s.commit()
        assert top(s, 1) == [a, b]
        assert top(s, 2) == [b, c]  # b carries both tags but comes once
        assert top(s, 3) == [a, b, c, d]
        assert top(s, None) == [a, b, c, d]


def test_explicit_tags_override_followed_tags(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        llm = add_tag(s, "llm")
        chips = add_tag(s, "chips")
        a = add_article(s, hot=90, tags=(llm,))
        c = add_article(s, hot=70, tags=(chips,))
        add_chat(s, 1, follows=(llm,))
        s.add(DeliveredArticle(chat_id=1, article_id=c, delivered_at=NOW))
        s.commit()
        assert top(s, 1, tag_ids=[chips]) == []  # delivered still excluded
        assert top(s, 1, tag_ids=[chips], exclude_delivered=False) == [c]
        assert top(s, None, tag_ids=[chips, llm]) == [a, c]
        assert top(s, None, tag_ids=[]) == []


def test_one_tag_with_a_muted_tag_filter(any_engine: Engine) -> None:
    """One tag (joined on SQLite) and a filter's own subquery on article_tag together."""
    with Session(any_engine) as s:
        llm = add_tag(s, "llm")
        chips = add_tag(s, "chips")
        a = add_article(s, hot=90, tags=(llm,))
        b = add_article(s, hot=80, tags=(llm, chips))
        add_article(s, hot=70, tags=(chips,))
        add_chat(s, 1, follows=(llm,))
        s.commit()
        muted = ~(
            select(literal(1))
            .where(
                col(ArticleTag.article_id) == col(Article.id),
                col(ArticleTag.tag_id).in_([chips]),
            )
            .exists()
        )
        assert top(s, None, tag_ids=[llm]) == [a, b]
        assert top(s, None, tag_ids=[llm], extra=[muted]) == [a]
        assert top(s, 1, extra=[muted]) == [a]
        assert top(s, None, tag_ids=[chips], extra=[muted]) == []


def test_weights_change_the_order(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        hot = add_article(s, hot=100, quality=0, impact=0)
        good = add_article(s, hot=0, quality=100, impact=0)
        big = add_article(s, hot=0, quality=0, impact=100)
        s.commit()
        assert top(s, weights=RankWeights(1, 0.5, 0.1)) == [hot, good, big]
        assert top(s, weights=RankWeights(0.1, 1, 0.5)) == [good, big, hot]
        assert top(s, weights=RankWeights(0.1, 0.5, 1)) == [big, good, hot]
        # Fractional weights must not be truncated to integers anywhere.
        assert top(s, weights=RankWeights(0.3, 0.2, 0.25)) == [hot, big, good]


def test_ties_are_broken_by_newer_then_higher_id(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        old = add_article(s, hours_ago=5)
        new_1 = add_article(s, hours_ago=2)
        new_2 = add_article(s, hours_ago=2)
        s.commit()
        assert new_2 > new_1
        assert top(s) == [new_2, new_1, old]


def test_limit(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        ids = [add_article(s, hot=i) for i in range(10)]
        s.commit()
        assert top(s, limit=3) == ids[::-1][:3]
        assert top(s, limit=0) == []


def test_latest_article_ids(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        a = add_article(s, hours_ago=3)
        b = add_article(s, hours_ago=2)
        c = add_article(s, hours_ago=1)
        s.commit()
        assert latest_article_ids(session=s, limit=10) == [c, b, a]
        assert latest_article_ids(session=s, limit=2) == [c, b]
        assert latest_article_ids(session=s, limit=10, before=NOW - timedelta(hours=2)) == [a]


def test_services_use_settings(any_engine: Engine, settings: Settings) -> None:
    tuned = settings.model_copy(
        update={"weight_hot": 0, "weight_quality": 1, "weight_impact": 0, "digest_window_hours": 6}
    )
    assert weights_from_settings(tuned) == RankWeights(0, 1, 0)
    with Session(any_engine) as s:
        llm = add_tag(s, "llm")
        a = add_article(s, hours_ago=1, hot=100, quality=10)
        b = add_article(s, hours_ago=5, quality=90, tags=(llm,))
        day = add_article(s, hours_ago=20, quality=100)  # outside 6 h, inside 24 h
        late = add_article(s, hours_ago=-1, quality=100)  # after now: never offered
        add_chat(s, 7)
        s.add(DeliveredArticle(chat_id=7, article_id=b, delivered_at=NOW))
        s.commit()
        assert digest_candidates(session=s, settings=tuned, chat_id=7, limit=5, now=NOW) == [a]
        today = top_today(session=s, settings=tuned, limit=5, now=NOW)
        assert today == [day, b, a] and late not in today
        assert top_for_tags(session=s, settings=tuned, tag_ids=[llm], limit=5, now=NOW) == [b]
        with pytest.raises(ValueError, match="aware"):
            top_today(session=s, settings=tuned, limit=5, now=NOW.replace(tzinfo=None))


def test_duplicates_are_ranked_once_through_their_first_article(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        tag = add_tag(s, "chips")
        first = add_article(s, hot=40, tags=(tag,))
        other = add_article(s, hot=60, tags=(tag,))
        copy = add_article(s, hot=100, quality=100, impact=100, tags=(tag,))
        s.get_one(Article, copy).duplicate_of = first
        add_chat(s, 1, follows=(tag,))
        s.commit()
        assert top(s, 1) == [other, first]
        assert top(s, None, tag_ids=[tag], since=NOW - timedelta(days=30)) == [other, first]
        assert top(s, None, exclude_delivered=False) == [other, first]


def _captured_sql(engine: Engine, run: Callable[[], object]) -> tuple[str, Any]:
    """The last statement ``run`` sends, with its parameters, as executed."""
    statements: list[tuple[str, Any]] = []

    def capture(_c: object, _cur: object, sql: str, params: object, *_a: object) -> None:
        statements.append((sql, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return statements[-1]


def test_sqlite_window_is_read_from_the_live_covering_index(engine: Engine) -> None:
    """EXPLAIN QUERY PLAN: the window (duplicates left out) comes from ix_article_rank_live
    alone, with no table fetch per candidate, for a digest and for a tag's 30 days."""
    with Session(engine) as s:
        tag = add_tag(s, "chips")
        add_chat(s, 7, follows=(tag,))
        ids = [add_article(s, hours_ago=i, tags=(tag,)) for i in range(200)]
        for i in range(0, 200, 40):
            s.get_one(Article, ids[i + 1]).duplicate_of = ids[i]
        s.commit()
        s.execute(text("ANALYZE"))
        # ANALYZE's figures at 1M articles, one in 40 a duplicate. An index holding every NULL
        # duplicate_of ('1000000 40': NULLs count as distinct) looked selective for
        # ``duplicate_of IS NULL``, and SQLite walked it over the whole table.
        s.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'article'"))
        s.execute(
            text(
                "INSERT INTO sqlite_stat1 VALUES "
                "('article', 'ix_article_duplicate_of', '25000 1'), "
                "('article', 'ix_article_rank_live', '975000 1 1 1 1 1 1'), "
                "('article', 'ix_article_rank', '1000000 1 1 1 1 1'), "
                "('article', 'sqlite_autoindex_article_1', '1000000 1')"
            )
        )
        s.execute(text("ANALYZE sqlite_schema"))  # reloads the statistics
        s.commit()
        sql, params = _captured_sql(engine, lambda: top(s, 7, limit=5))
        plan = "\n".join(
            str(row[-1])
            for row in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
        )
        assert "COVERING INDEX ix_article_rank_live" in plan, plan
        assert "SCAN article" not in plan and "ix_article_duplicate_of" not in plan, plan


def test_sqlite_tag_window_is_one_range_of_the_tag_rows(engine: Engine) -> None:
    """EXPLAIN QUERY PLAN: one tag (or several) without a chat reads only the tags' live rows
    in the window from ix_article_tag_rank_live: no article table, no scan."""
    with Session(engine) as s:
        chips = add_tag(s, "chips")
        llm = add_tag(s, "llm")
        ids = [add_article(s, hours_ago=i, tags=(chips, llm)[: 1 + i % 2]) for i in range(200)]
        for i in range(0, 200, 40):
            s.get_one(Article, ids[i + 1]).duplicate_of = ids[i]
        s.commit()
        s.execute(text("ANALYZE"))
        s.commit()
        since = NOW - timedelta(days=30)
        for run in (
            lambda: top(s, None, limit=5, tag_ids=[chips], since=since),
            lambda: top(s, None, limit=5, tag_ids=[chips, llm], since=since),
        ):
            sql, params = _captured_sql(engine, run)
            plan = "\n".join(
                str(row[-1])
                for row in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
            )
            assert "COVERING INDEX ix_article_tag_rank_live (tag_id=? AND live_published_at>?" in (
                plan
            ), plan
            assert "SCAN" not in plan and " article " not in f"{plan} ", plan


def _reference(s: Session, tag_ids: list[int], since: datetime) -> list[int]:
    """The ranking computed in Python from ``article`` alone (the copies not used)."""
    tagged = set(
        s.exec(select(ArticleTag.article_id).where(col(ArticleTag.tag_id).in_(tag_ids))).all()
    )
    rows = [
        a
        for a in s.exec(select(Article)).all()
        if a.id in tagged and a.duplicate_of is None and since <= a.published_at <= NOW
    ]

    def score(a: Article) -> float:
        return a.hot * W.hot + a.quality * W.quality + a.impact * W.impact

    rows.sort(key=lambda a: (score(a), a.published_at, a.id or 0), reverse=True)
    return [a.id for a in rows if a.id is not None]


def _copies_match(s: Session) -> None:
    live = "CASE WHEN a.duplicate_of IS NULL THEN a.published_at END"
    differs = (
        f"t.hot IS NOT a.hot OR t.quality IS NOT a.quality OR t.impact IS NOT a.impact "
        f"OR t.live_published_at IS NOT ({live})"
        if s.get_bind().dialect.name == "sqlite"
        else "(t.hot, t.quality, t.impact, t.live_published_at) IS DISTINCT FROM "
        f"(a.hot, a.quality, a.impact, {live})"
    )
    stale = s.connection().exec_driver_sql(
        "SELECT t.article_id, t.tag_id FROM article_tag t JOIN article a ON a.id = t.article_id "
        f"WHERE {differs}"
    )
    assert stale.all() == []


def test_tag_ranking_follows_article_and_tag_changes(any_engine: Engine) -> None:
    """The tag rows' copies of scores, published_at and liveness follow every kind of write
    (ORM, bulk UPDATE, tags added, removed and re-pointed): the ranking stays the article's."""
    since = NOW - timedelta(days=30)
    with Session(any_engine) as s:
        chips = add_tag(s, "chips")
        llm = add_tag(s, "llm")
        a = add_article(s, hot=50, tags=(chips,))
        b = add_article(s, hot=60, tags=(chips, llm))
        c = add_article(s, hot=70, tags=(chips,))
        d = add_article(s, hot=80, tags=(llm,))
        s.commit()
        steps: list[tuple[list[int], list[int]]] = []

        def check(chips_top: list[int], both_top: list[int]) -> None:
            s.commit()
            _copies_match(s)
            assert _reference(s, [chips], since) == chips_top
            assert _reference(s, [chips, llm], since) == both_top
            assert top(s, None, tag_ids=[chips], since=since) == chips_top
            assert top(s, None, tag_ids=[chips, llm], since=since) == both_top
            steps.append((chips_top, both_top))

        check([c, b, a], [d, c, b, a])
        s.get_one(Article, a).hot = 100  # the ORM's UPDATE of one column
        check([a, c, b], [a, d, c, b])
        s.execute(update(Article).where(col(Article.id) == b).values(quality=100, impact=100))
        check([b, a, c], [b, a, d, c])
        s.get_one(Article, c).published_at = NOW - timedelta(days=40)  # out of the window
        check([b, a], [b, a, d])
        s.get_one(Article, c).published_at = NOW - timedelta(days=2)
        s.get_one(Article, b).duplicate_of = d  # a duplicate stands behind its first article
        check([a, c], [a, d, c])
        s.execute(update(Article).where(col(Article.id) == b).values(duplicate_of=None))
        check([b, a, c], [b, a, d, c])
        s.add(ArticleTag(article_id=d, tag_id=chips))  # tagged later (e.g. by the newsroom)
        check([b, a, d, c], [b, a, d, c])
        s.execute(
            delete(ArticleTag).where(
                col(ArticleTag.article_id) == a, col(ArticleTag.tag_id) == chips
            )
        )
        check([b, d, c], [b, d, c])
        s.execute(  # a tag row moved to another article takes that article's values
            update(ArticleTag)
            .where(col(ArticleTag.article_id) == d, col(ArticleTag.tag_id) == llm)
            .values(article_id=a)
        )
        check([b, d, c], [b, a, d, c])
        s.delete(s.get_one(Article, b))
        s.flush()
        s.execute(delete(ArticleTag).where(col(ArticleTag.article_id) == b))
        check([d, c], [a, d, c])
        assert len(steps) == 10


def test_negative_weights_are_refused() -> None:
    with pytest.raises(ValueError):
        RankWeights(hot=-1)


@pytest.mark.postgres
def test_postgres_digest_plan_probes_per_candidate(postgres_engine: Engine) -> None:
    """EXPLAIN ANALYZE: the digest query probes delivered_article and article_tag once per
    candidate (SubPlan) instead of hashing the chat's whole history or a tag's archive, and
    reads the window (duplicates left out) by an index-only scan of ix_article_rank_live."""
    with Session(postgres_engine) as s:
        tag = add_tag(s, "chips")
        add_chat(s, 7, follows=(tag,))
        old = [add_article(s, hours_ago=24 * (10 + i), tags=(tag,)) for i in range(300)]
        mark_delivered(session=s, chat_id=7, article_ids=old)
        fresh = add_article(s, hours_ago=2, tags=(tag,))
        copy = add_article(s, hours_ago=1, hot=100, tags=(tag,))
        s.get_one(Article, copy).duplicate_of = fresh
        s.commit()
    # VACUUM sets the visibility map an index-only scan needs (as autovacuum would).
    with postgres_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    found: list[int] = []
    with Session(postgres_engine) as s:
        sql, params = _captured_sql(
            postgres_engine,
            lambda: found.extend(
                top_article_ids(
                    session=s, chat_id=7, limit=5, since=NOW - timedelta(hours=48), weights=W
                )
            ),
        )
        assert found == [fresh]
        # A few hundred rows are cheaper to scan than to probe; the shape is the point here.
        s.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            str(row[0]) for row in s.connection().exec_driver_sql("EXPLAIN ANALYZE " + sql, params)
        )
    assert "SubPlan" in plan and "Hash" not in plan, plan
    assert "delivered_article_pkey" in plan and "article_tag" in plan, plan
    assert "Index Only Scan using ix_article_rank_live" in plan, plan


@pytest.mark.postgres
def test_postgres_tag_window_is_an_index_only_range(postgres_engine: Engine) -> None:
    """EXPLAIN ANALYZE: one tag without a chat is an index-only scan of that tag's live rows
    of ix_article_tag_rank_live (no article table, no heap fetch after VACUUM)."""
    with Session(postgres_engine) as s:
        chips = add_tag(s, "chips")
        llm = add_tag(s, "llm")
        ids = [add_article(s, hours_ago=i, tags=(chips, llm)[: 1 + i % 2]) for i in range(300)]
        s.get_one(Article, ids[1]).duplicate_of = ids[0]
        s.commit()
    with postgres_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    found: list[int] = []
    with Session(postgres_engine) as s:
        sql, params = _captured_sql(
            postgres_engine,
            lambda: found.extend(
                top(s, None, limit=5, tag_ids=[llm], since=NOW - timedelta(days=30))
            ),
        )
        # Equal scores: newest first; odd ones carry llm, the first of them is a duplicate.
        assert found == [ids[3], ids[5], ids[7], ids[9], ids[11]]
        s.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            str(row[0]) for row in s.connection().exec_driver_sql("EXPLAIN ANALYZE " + sql, params)
        )
    assert "Index Only Scan using ix_article_tag_rank_live" in plan, plan
    assert "Heap Fetches: 0" in plan and " article " not in plan, plan


def test_migration_0011_fills_the_copies_and_goes_back(any_engine: Engine) -> None:
    """Rows written before 0011 get their copies on upgrade; downgrade and upgrade again."""
    since = NOW - timedelta(days=30)
    with Session(any_engine) as s:
        tag = add_tag(s, "chips")
        first = add_article(s, hot=10, tags=(tag,))
        copy = add_article(s, hot=90, tags=(tag,))
        other = add_article(s, hot=50, tags=(tag,))
        s.get_one(Article, copy).duplicate_of = first
        s.commit()
    command.downgrade(alembic_config(any_engine), "0010")
    with any_engine.begin() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("article_tag")}
        assert columns == {"article_id", "tag_id", "generated"}
        conn.execute(text("UPDATE article SET hot = 100 WHERE id = :id"), {"id": first})
    upgrade(any_engine)
    with Session(any_engine) as s:
        _copies_match(s)
        assert top(s, None, tag_ids=[tag], since=since) == [first, other]
