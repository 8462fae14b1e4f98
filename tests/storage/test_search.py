from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.db import alembic_config, current_revision, upgrade
from storage.models import Article, ArticleText
from storage.search import query_terms, search_article_ids, term_grams

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
_seq = itertools.count()

HOSTILE = [
    '"',
    '""',
    "'",
    "*",
    "-",
    "- -",
    "AND",
    "OR NOT",
    "NEAR(",
    "(a OR b",
    ')) "x',
    "title:foo",
    "foo*",
    "^ai",
    "a:b:c",
    "%",
    "_",
    "\\",
    "x" * 5000,
    "AND " * 1250,
    '"(*-' * 1250,
    "\x00\x1f",
    "   ",
    "",
    "ai\u200bmodel",
]


def add_article(
    session: Session,
    texts: dict[str, tuple[str, str, str]],
    *,
    hot: int = 50,
    hours_ago: float = 1,
) -> int:
    article = Article(
        external_id=f"s-{next(_seq)}",
        url="https://example.org/a",
        hot=hot,
        quality=50,
        impact=50,
        published_at=NOW - timedelta(hours=hours_ago),
    )
    session.add(article)
    session.flush()
    assert article.id is not None
    for lang, (title, summary, analysis) in texts.items():
        session.add(
            ArticleText(
                article_id=article.id, lang=lang, title=title, summary=summary, analysis=analysis
            )
        )
    session.commit()
    return article.id


def search(session: Session, query: str, limit: int = 20, offset: int = 0) -> list[int]:
    return search_article_ids(session=session, query=query, limit=limit, offset=offset)


@pytest.fixture
def corpus(any_engine: Engine) -> Iterator[tuple[Session, dict[str, int]]]:
    s = Session(any_engine)
    ids = {
        "funding": add_article(
            s,
            {
                "en": ("Startup raises money for robots", "A robotics round.", "Investors..."),
                "zh": ("机器人初创公司完成新一轮融资", "一轮融资。", "投资者认为……"),
            },
        ),
        "gpt": add_article(
            s,
            {
                "en": ("OpenAI ships a new model", "The model reasons better.", "Long text."),
                "zh": ("OpenAI 发布新模型", "推理更强。", "长文。"),
            },
            hot=90,
        ),
        "chips": add_article(
            s,
            {"en": ("Chip export rules", "Datacenter GPUs.", "Analysts say a new model lags.")},
            hot=99,
        ),
    }
    yield s, ids
    s.close()  # an open transaction would block the next test's DROP SCHEMA on PostgreSQL


def test_english_word_matches_case_insensitively(corpus: tuple[Session, dict[str, int]]) -> None:
    s, ids = corpus
    assert search(s, "openai") == [ids["gpt"]]
    assert search(s, "ROBOTS") == [ids["funding"]]
    assert search(s, "datacenter gpus") == [ids["chips"]]
    assert search(s, "openai robots") == []  # every term must match
    assert search(s, "nothing-like-this") == []


def test_chinese_substring(corpus: tuple[Session, dict[str, int]]) -> None:
    s, ids = corpus
    assert search(s, "融资") == [ids["funding"]]  # two characters: below a trigram
    assert search(s, "新一轮融资") == [ids["funding"]]
    assert search(s, "发布新模型") == [ids["gpt"]]
    assert search(s, "OpenAI 模型") == [ids["gpt"]]


def test_title_match_outranks_analysis_match(corpus: tuple[Session, dict[str, int]]) -> None:
    s, ids = corpus
    # "chips" mentions "new model" only in its analysis and has the higher score.
    assert search(s, "new model") == [ids["gpt"], ids["chips"]]
    assert search(s, "model") == [ids["gpt"], ids["chips"]]


def test_limit_and_offset(corpus: tuple[Session, dict[str, int]]) -> None:
    s, ids = corpus
    assert search(s, "model", limit=1) == [ids["gpt"]]
    assert search(s, "model", limit=1, offset=1) == [ids["chips"]]
    assert search(s, "model", limit=0) == []


def test_short_terms(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        word = add_article(s, {"en": ("AI chips", "", "")}, hot=10)
        body = add_article(s, {"en": ("Chips", "Cheap AI", "")}, hot=90)
        # SQLite matches substrings ("raises"); PostgreSQL matches words: both find `word` first.
        assert search(s, "ai")[:2] == [word, body]
        assert search(s, "AI chips") == [word, body]
        assert search(s, "x") == []


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_do_not_raise(corpus: tuple[Session, dict[str, int]], query: str) -> None:
    s, _ids = corpus
    result = search(s, query)
    assert isinstance(result, list)


def test_hostile_characters_are_literal(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        pct = add_article(s, {"en": ("100% up", "50_50 split", 'He said "wow" (again)')})
        add_article(s, {"en": ("1000 up", "50-50 split", "nothing")})
        assert search(s, "100%") == [pct]
        # "_" is no wildcard; PostgreSQL's word parser reads both "50_50" and "50-50" as 50 50.
        found = search(s, "50_50")
        assert found[0] == pct
        assert found == ([pct] if any_engine.dialect.name == "sqlite" else found)
        assert search(s, '"wow"') == [pct]
        assert search(s, "(again)") == [pct]


def test_updates_and_deletes_are_reflected(corpus: tuple[Session, dict[str, int]]) -> None:
    s, ids = corpus
    row = s.exec(
        select(ArticleText).where(ArticleText.article_id == ids["chips"], ArticleText.lang == "en")
    ).one()
    row.title = "Quantum annealing breakthrough"
    s.add(row)
    s.commit()
    assert search(s, "quantum") == [ids["chips"]]
    assert search(s, "chip export") == []
    s.add(
        ArticleText(article_id=ids["chips"], lang="zh", title="量子退火", summary="", analysis="")
    )
    s.commit()
    assert search(s, "量子") == [ids["chips"]]
    s.delete(row)
    s.commit()
    assert search(s, "quantum") == []
    assert search(s, "量子退火") == [ids["chips"]]
    article = s.get(Article, ids["gpt"])
    s.delete(article)
    s.commit()
    assert search(s, "openai") == []


def test_query_terms() -> None:
    assert query_terms('  Foo  foo "BAR"\x00x ') == ["foo", '"bar"', "x"]
    assert len(query_terms("a " * 100)) == 1
    assert len(query_terms(" ".join(str(i) for i in range(100)))) <= 12


def test_sqlite_downgrade_and_upgrade_of_0002(engine: Engine) -> None:
    from alembic import command

    with Session(engine) as s:
        article_id = add_article(s, {"zh": ("大模型融资热潮", "", ""), "en": ("LLM boom", "", "")})
    config = alembic_config(engine)
    command.downgrade(config, "0001")
    assert current_revision(engine) == "0001"
    with engine.connect() as conn:
        names = {
            row[0]
            for row in conn.execute(
                text("SELECT name FROM sqlite_master WHERE name LIKE 'article_fts%'")
            )
        }
        assert names == set()
        triggers = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        assert triggers.all() == []
    upgrade(engine)
    with Session(engine) as s:
        # Existing texts are indexed by the upgrade itself.
        assert search(s, "融资热潮") == [article_id]
        assert search(s, "llm boom") == [article_id]


def test_two_character_term_at_the_very_end(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        end = add_article(s, {"zh": ("大模型融资", "", "")})
        assert search(s, "融资") == [end]
        assert search(s, "模型融资") == [end]


def test_like_paths_for_common_pairs_and_single_characters(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.search

    with Session(engine) as s:
        a = add_article(s, {"zh": ("芯片出口", "融资", "")}, hot=90)
        b = add_article(s, {"zh": ("融资新闻", "", "")}, hot=10)
        assert search(s, "融") == [b, a]  # title hit first
        monkeypatch.setattr(storage.search, "MAX_EXPANSION", 0)
        assert search(s, "融资") == [b, a]
        assert search(s, "融资 出口") == [a]


def test_only_the_newest_matches_are_ranked(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.search

    with Session(engine) as s:
        ids = [add_article(s, {"en": (f"robots {i}", "", "")}, hot=i) for i in range(5)]
        monkeypatch.setattr(storage.search, "SEARCH_CANDIDATES", 2)
        assert search(s, "robots") == [ids[4], ids[3]]


def test_every_page_is_a_slice_of_one_order(any_engine: Engine) -> None:
    """Title hits, then summary hits, then the rest; the score orders each group. A page
    (limit, offset) is exactly that slice, whatever group its last row falls in."""
    groups = (
        ("融资消息", "融资。", "其他。"),  # in the title (and summary)
        ("芯片消息", "融资。", "其他。"),  # in the summary
        ("芯片消息", "其他。", "融资。"),  # in the analysis only
    )
    with Session(any_engine) as s:
        expected = []
        for texts in groups:
            ids = {hot: add_article(s, {"zh": texts}, hot=hot) for hot in (30, 90, 10, 60)}
            expected += [ids[hot] for hot in sorted(ids, reverse=True)]
        assert search(s, "融资") == expected
        for limit in (1, 2, 3, 5):
            for offset in range(len(expected) + 1):
                page = search(s, "融资", limit=limit, offset=offset)
                assert page == expected[offset : offset + limit], (limit, offset)


def test_one_and_two_character_chinese_terms(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        a = add_article(s, {"zh": ("芯片出口", "大模型融资", "")}, hot=90)
        b = add_article(s, {"zh": ("融资新闻", "", ""), "en": ("Funding", "", "")}, hot=10)
        c = add_article(s, {"zh": ("天气", "", "金价"), "en": ("AI芯片 news", "", "")})
        assert search(s, "融") == [b, a]  # title hit first
        assert search(s, "融资") == [b, a]
        assert search(s, "资新") == [b]  # a pair across two words of one text
        assert search(s, "融资 出口") == [a]
        assert search(s, "金") == [c]
        assert search(s, "ai芯片") == [c]  # mixed term: keys from its CJK part, ILIKE recheck
        assert search(s, "芯片") == [a, c]
        assert search(s, "型融资") == [a]
        assert search(s, "融出") == []  # both characters occur, never as a pair
        assert search(s, "鲸") == []


def test_chinese_search_follows_updates(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        a = add_article(s, {"zh": ("量子计算", "", "")})
        row = s.exec(select(ArticleText).where(ArticleText.article_id == a)).one()
        row.summary = "融资"
        s.add(row)
        s.commit()
        assert search(s, "融资") == [a]
        assert search(s, "量子") == [a]
        row.title = "天气"
        s.add(row)
        s.commit()
        assert search(s, "量子") == []
        assert search(s, "天") == [a]


def test_term_grams() -> None:
    assert term_grams("融") == (["融"], True)
    assert term_grams("融资") == (["融资"], True)
    assert term_grams("大模型") == (["大模", "模型"], False)
    assert term_grams("ai芯片") == (["芯片"], False)
    assert term_grams("a芯") == (["芯"], False)
    assert term_grams("ｘｙ") == ([], False)  # fullwidth Latin: not indexed, ILIKE only


@pytest.mark.postgres
def test_postgres_chinese_terms_use_the_gram_index(postgres_engine: Engine) -> None:
    with Session(postgres_engine) as s:
        add_article(s, {"zh": ("大模型融资", "", "")})
        fullwidth = add_article(s, {"zh": ("ｘｙ 全角", "", "")})
        assert search(s, "ｘｙ") == [fullwidth]  # the documented fallback: ILIKE over every text
        conn = s.connection()
        # A tiny table is cheaper to scan, so forbid that: the index must be able to serve.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        for term in ("融", "融资", "大模型"):
            plan = conn.execute(
                text(
                    "EXPLAIN SELECT article_id FROM article_text "
                    "WHERE cjk_grams @> CAST(:g AS TEXT[])"
                ),
                {"g": term_grams(term)[0]},
            )
            lines = "\n".join(plan.scalars())
            assert "ix_article_text_grams" in lines, lines
        s.rollback()


def test_downgrade_and_upgrade_of_0007(any_engine: Engine) -> None:
    from alembic import command

    with Session(any_engine) as s:
        article_id = add_article(s, {"zh": ("大模型融资热潮", "", "")})
    command.downgrade(alembic_config(any_engine), "0006")
    assert current_revision(any_engine) == "0006"
    upgrade(any_engine)
    with Session(any_engine) as s:
        # Existing texts get their grams from the upgrade itself.
        assert search(s, "融资") == [article_id]
        assert search(s, "热") == [article_id]


def test_title_hits_are_the_words_of_a_title(any_engine: Engine) -> None:
    """Every term in the title puts an article first, however often the terms occur elsewhere
    (PostgreSQL reads this from the stored vector's title lexemes, migration 0012)."""
    with Session(any_engine) as s:
        body = add_article(
            s, {"en": ("Weekly roundup", "open source model " * 300, "open source model")}, hot=99
        )
        split = add_article(s, {"en": ("Open letter", "Source model.", "")}, hot=60)
        title = add_article(s, {"en": ("Open-source model ships", "", "")}, hot=1)
        # Past tsvector's last position (16,383) every word shares that position: still title.
        far = add_article(s, {"en": ("filler " * 17000 + "open source model", "", "")}, hot=2)
        zh_title = add_article(
            s, {"zh": ("Open source model 发布", "", ""), "en": ("Launch", "open", "")}, hot=3
        )
        found = search(s, "open source model")
        assert set(found[:3]) == {title, far, zh_title}
        assert set(found[3:]) == {body, split}
        # Relevance, then score: the body that repeats every term beats a split match.
        assert search(s, "open source model", limit=2, offset=3) == [body, split]
        assert search(s, "roundup") == [body]
        assert search(s, "letter source") == [split]


@pytest.mark.postgres
def test_postgres_word_search_reads_the_stored_vector(postgres_engine: Engine) -> None:
    """The plan uses the GIN index over ``search_vector`` and never parses a text again
    (re-parsing every match was 85 of 96 ms for a common word at 1M articles)."""
    from sqlalchemy import event

    statements: list[tuple[str, object]] = []

    def capture(
        _conn: object, _cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        statements.append((statement, parameters))

    with Session(postgres_engine) as s:
        article_id = add_article(s, {"en": ("Datacenter power", "Chips.", "")})
        row = s.exec(select(ArticleText).where(ArticleText.article_id == article_id)).one()
        stored, expected = (
            s.connection()
            .execute(
                text(
                    "SELECT search_vector::text, (setweight(to_tsvector('simple', title), 'A') || "
                    "setweight(to_tsvector('simple', summary), 'B') || "
                    "setweight(to_tsvector('simple', analysis), 'C'))::text FROM article_text "
                    "WHERE article_id = :id"
                ),
                {"id": row.article_id},
            )
            .one()
        )
        assert stored == expected == "'chips':3B 'datacenter':1A 'power':2A"
        event.listen(postgres_engine, "before_cursor_execute", capture)
        try:
            assert search(s, "datacenter power") == [article_id]
        finally:
            event.remove(postgres_engine, "before_cursor_execute", capture)
        statement, parameters = statements[-1]
        conn = s.connection()
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: make it choose
        plan = "\n".join(
            conn.exec_driver_sql("EXPLAIN (VERBOSE) " + statement, parameters).scalars()  # type: ignore[arg-type]
        )
        assert "ix_article_text_fts" in plan, plan
        assert "search_vector @@" in plan, plan
        assert "to_tsvector" not in plan, plan
        s.rollback()


def test_downgrade_and_upgrade_of_0012(any_engine: Engine) -> None:
    from alembic import command

    with Session(any_engine) as s:
        article_id = add_article(s, {"en": ("Quantum lawsuit filed", "", "")})
    command.downgrade(alembic_config(any_engine), "0011")
    assert current_revision(any_engine) == "0011"
    if any_engine.dialect.name == "postgresql":
        with any_engine.connect() as conn:
            columns = conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'article_text' AND column_name = 'search_vector'"
                )
            )
            assert columns.all() == []
            index = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_article_text_fts'")
            ).scalar_one()
            assert "to_tsvector" in index
    upgrade(any_engine)
    with Session(any_engine) as s:
        # Existing texts get their stored vectors from the upgrade itself.
        assert search(s, "quantum lawsuit") == [article_id]
        assert search(s, "filed") == [article_id]
