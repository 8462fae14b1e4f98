"""Ranking and search benchmark on a large database (not part of the test suite).

    .venv/bin/python benchmarks/ranking.py [--articles 1000000] [--db PATH] [--queries 2000]
    .venv/bin/python benchmarks/ranking.py --url postgresql+psycopg://postgres@127.0.0.1/bench

Builds (or reuses, when the article count matches) a SQLite file or a PostgreSQL database
(``--url``; its public schema is replaced) migrated to head with
~3 years of articles (bilingual texts, 1-3 of 30 tags each), a few thousand chats that follow
0-5 tags and have a delivered history, then times storage.ranking and storage.search through
the real functions and a SQLAlchemy session, warm cache, and prints p50/p95/max in ms.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.exc import SQLAlchemyError  # noqa: E402
from sqlmodel import Session  # noqa: E402

from storage.db import make_engine, upgrade  # noqa: E402
from storage.ranking import (  # noqa: E402
    RankWeights,
    latest_article_ids,
    top_article_ids,
)
from storage.search import search_article_ids  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
YEARS = 3
TAGS = 30
CHATS = 3000
DIGEST_PER_DAY = 5
BATCH = 20_000
DUPLICATE_EVERY = 40
ARTICLE_COLUMNS = (
    "id, external_id, url, source, hot, quality, impact, scores_estimated, published_at, "
    "updated_at, views, ai_generated, created_at, modified_at, scores_generated, duplicate_of"
)

EN_COMMON = [
    *[
        "model",
        "agent",
        "robot",
        "chip",
        "gpu",
        "training",
        "inference",
        "benchmark",
        "startup",
        "funding",
        "open",
        "source",
    ],
    *[
        "safety",
        "policy",
        "regulation",
        "dataset",
        "vision",
        "language",
        "reasoning",
        "memory",
        "cluster",
        "cloud",
    ],
    *[
        "quantum",
        "lab",
        "research",
        "paper",
        "release",
        "launch",
        "partnership",
        "acquisition",
        "lawsuit",
    ],
    *[
        "energy",
        "datacenter",
        "transformer",
        "diffusion",
        "multimodal",
        "speech",
        "translation",
        "coding",
    ],
]
ZH_COMMON = [
    *[
        "模型",
        "智能体",
        "机器人",
        "芯片",
        "训练",
        "推理",
        "基准",
        "初创",
        "融资",
        "开源",
        "安全",
        "政策",
        "监管",
        "数据集",
        "视觉",
    ],
    *[
        "语言",
        "记忆",
        "集群",
        "云端",
        "边缘",
        "量子",
        "实验室",
        "研究",
        "论文",
        "发布",
        "合作",
        "收购",
        "诉讼",
        "版权",
        "能源",
    ],
    *[
        "数据中心",
        "多模态",
        "语音",
        "翻译",
        "编程",
        "数学",
        "医疗",
        "药物",
        "蛋白质",
        "天气",
        "金融",
        "交易",
        "教育",
        "大模型",
    ],
]
SYLLABLES = [
    "ka",
    "ri",
    "to",
    "mu",
    "ne",
    "so",
    "la",
    "vi",
    "de",
    "po",
    "an",
    "el",
    "or",
    "um",
    "ix",
    "qu",
    "ze",
    "br",
    "st",
    "fl",
]
HANZI = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也"
    "能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实"
)


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float], list[str], list[float]]:
    """Zipf-distributed vocabularies: a few common words, a long tail of rare ones."""
    en = EN_COMMON + sorted(
        {"".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(4000)}
    )
    zh = ZH_COMMON + sorted({"".join(rng.choices(HANZI, k=2)) for _ in range(3000)})
    rng.shuffle(en)
    rng.shuffle(zh)
    return en, _zipf(len(en)), zh, _zipf(len(zh))


def _zipf(n: int) -> list[float]:
    total = 0.0
    cumulative = []
    for rank in range(1, n + 1):
        total += 1 / rank
        cumulative.append(total)
    return cumulative


def _ts(value: datetime) -> str:
    # SQLAlchemy's SQLite DateTime storage format (naive UTC), so comparisons match the app's.
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sentence(rng: random.Random, vocab: tuple[list[str], list[float]], n: int, sep: str) -> str:
    return sep.join(rng.choices(vocab[0], cum_weights=vocab[1], k=n))


def _article_rows(rng: random.Random, count: int) -> Iterator[tuple[object, ...]]:
    span = timedelta(days=365 * YEARS).total_seconds()
    start = NOW - timedelta(days=365 * YEARS)
    # Sorted times: ids grow with published_at, as they do when a feed is polled.
    offsets = sorted(rng.random() * span for _ in range(count))
    created = _ts(NOW)
    for i, offset in enumerate(offsets, start=1):
        published = _ts(start + timedelta(seconds=offset))
        yield (
            i,
            f"bench-{i}",
            f"https://news.example/{i}",
            "bench",
            rng.randint(0, 100),
            rng.randint(0, 100),
            rng.randint(0, 100),
            0,
            published,
            None,
            0,
            0,
            created,
            created,
            0,
            # A few stories told twice: every DUPLICATE_EVERY-th article duplicates the one
            # before it (deterministic, so the random stream and the rest of the data stay
            # the same as in earlier builds).
            i - 1 if i % DUPLICATE_EVERY == 0 else None,
        )


Batch = tuple[list[tuple[object, ...]], list[tuple[int, int]], list[tuple[object, ...]]]


def _batches(rng: random.Random, articles: int, by_day: dict[str, list[int]]) -> Iterator[Batch]:
    """(articles, article tags, texts) in batches; fills ``by_day`` (published day -> ids)."""
    en_words, en_weights, zh_words, zh_weights = _vocabulary(rng)
    en, zh = (en_words, en_weights), (zh_words, zh_weights)
    rows = _article_rows(rng, articles)
    # Popular tags are popular: weights fall off with the tag id.
    tag_weights = [1 / t for t in range(1, TAGS + 1)]
    tag_ids = list(range(1, TAGS + 1))
    while True:
        batch = [row for row in (next(rows, None) for _ in range(BATCH)) if row is not None]
        if not batch:
            return
        tag_rows = []
        text_rows: list[tuple[object, ...]] = []
        for row in batch:
            article_id = int(str(row[0]))
            by_day.setdefault(str(row[8])[:10], []).append(article_id)
            for tag in set(rng.choices(tag_ids, tag_weights, k=rng.randint(1, 3))):
                tag_rows.append((article_id, tag))
            text_rows.append(
                (
                    article_id,
                    "en",
                    _sentence(rng, en, 7, " ").capitalize(),
                    _sentence(rng, en, 18, " ") + ".",
                    _sentence(rng, en, 30, " ") + ".",
                )
            )
            text_rows.append(
                (
                    article_id,
                    "zh",
                    _sentence(rng, zh, 7, ""),
                    _sentence(rng, zh, 18, "") + "。",
                    _sentence(rng, zh, 30, "") + "。",
                )
            )
        yield batch, tag_rows, text_rows


ChatRows = tuple[int, list[int], list[tuple[int, int, str]]]


def _chats(rng: random.Random, by_day: dict[str, list[int]]) -> Iterator[ChatRows]:
    """Per chat: (id, followed tags, delivered (chat, article, day) rows).

    40 % follow no tag; the others 1-5. History: 5 articles a day for 30-720 days."""
    tag_ids = list(range(1, TAGS + 1))
    days = sorted(by_day)
    for chat_id in range(1, CHATS + 1):
        follows = [] if rng.random() < 0.4 else rng.sample(tag_ids, rng.randint(1, 5))
        history = days[-rng.randint(30, 720) :]
        rows_d = []
        for day in history:
            for article_id in rng.sample(by_day[day], min(DIGEST_PER_DAY, len(by_day[day]))):
                rows_d.append((chat_id, article_id, day))
        yield chat_id, follows, rows_d


def _tags() -> list[tuple[object, ...]]:
    return [
        (t, f"tag{t}", json.dumps({"en": f"Tag {t}", "zh": f"标签{t}"})) for t in range(1, TAGS + 1)
    ]


def build(db: Path, articles: int, seed: int) -> None:
    rng = random.Random(seed)
    if db.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    started = time.perf_counter()

    # The FTS triggers rebuild an article's row on every text insert: load without them, then
    # index every article in one statement (as migration 0002 does) and put them back.
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'article_text'"
    ).fetchall()
    conn.execute("BEGIN")
    for name, _ in triggers:
        conn.execute(f'DROP TRIGGER "{name}"')
    conn.executemany("INSERT INTO tag(id, slug, names) VALUES (?, ?, ?)", _tags())
    by_day: dict[str, list[int]] = {}
    for batch, tag_rows, text_rows in _batches(rng, articles, by_day):
        conn.executemany(
            f"INSERT INTO article ({ARTICLE_COLUMNS}) VALUES ({', '.join('?' * 16)})", batch
        )
        conn.executemany("INSERT INTO article_tag(article_id, tag_id) VALUES (?, ?)", tag_rows)
        conn.executemany(
            "INSERT INTO article_text(article_id, lang, title, summary, analysis) "
            "VALUES (?, ?, ?, ?, ?)",
            text_rows,
        )
        _progress(int(str(batch[-1][0])), started)
    conn.execute(
        "INSERT INTO article_fts(rowid, title, summary, analysis) "
        "SELECT article_id, group_concat(title, ' ') || ' ', "
        "group_concat(summary, ' ') || ' ', group_concat(analysis, ' ') || ' ' "
        "FROM (SELECT * FROM article_text ORDER BY article_id, lang) GROUP BY article_id"
    )
    for _, sql in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    print(f"  indexed in {time.perf_counter() - started:.0f} s", flush=True)

    conn.execute("BEGIN")
    created = _ts(NOW)
    delivered = 0
    for chat_id, follows, rows_d in _chats(rng, by_day):
        conn.execute(
            "INSERT INTO chat(id, type, timezone, digest_time, article_count, subscribed, "
            "active, created_at, updated_at) VALUES (?, 'private', 'UTC', '08:00', 5, 1, 1, ?, ?)",
            (chat_id, created, created),
        )
        conn.executemany(
            "INSERT INTO chat_tag(chat_id, tag_id) VALUES (?, ?)", [(chat_id, t) for t in follows]
        )
        conn.executemany(
            "INSERT INTO delivered_article(chat_id, article_id, delivered_at) VALUES (?, ?, ?)",
            [(c, a, day + " 08:00:00.000000") for c, a, day in rows_d],
        )
        delivered += len(rows_d)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    elapsed = time.perf_counter() - started
    print(f"built {articles} articles, {delivered} deliveries in {elapsed:.0f} s")


def _progress(last_id: int, started: float) -> None:
    if last_id % 100_000 < BATCH:
        print(f"  {last_id:>9} articles  {time.perf_counter() - started:6.0f} s", flush=True)


def build_postgres(url: str, articles: int, seed: int) -> None:
    """The same data as ``build`` (same generator, same seed), loaded with COPY. Secondary
    indexes are dropped for the load and recreated from their own definitions afterwards."""
    import psycopg

    rng = random.Random(seed)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    engine.dispose()
    started = time.perf_counter()
    with psycopg.connect(dsn) as pg:
        indexes = pg.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename IN ('article', 'article_text', 'article_tag', 'delivered_article') "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ).fetchall()
        for name, _ in indexes:
            pg.execute(f'DROP INDEX "{name}"')
        with pg.cursor().copy("COPY tag (id, slug, names) FROM STDIN") as copy:
            for row in _tags():
                copy.write_row(row)
        by_day: dict[str, list[int]] = {}
        for batch, tag_rows, text_rows in _batches(rng, articles, by_day):
            with pg.cursor() as cur:
                with cur.copy(f"COPY article ({ARTICLE_COLUMNS}) FROM STDIN") as copy:
                    for row in batch:
                        stamps = (_tz(row[8]), None, row[10], bool(row[11]))
                        copy.write_row(
                            (
                                *row[:7],
                                bool(row[7]),
                                *stamps,
                                _tz(row[12]),
                                _tz(row[13]),
                                bool(row[14]),
                                row[15],
                            )
                        )
                with cur.copy("COPY article_tag (article_id, tag_id) FROM STDIN") as copy:
                    for tag_row in tag_rows:
                        copy.write_row(tag_row)
                with cur.copy(
                    "COPY article_text (article_id, lang, title, summary, analysis) FROM STDIN"
                ) as copy:
                    for text_row in text_rows:
                        copy.write_row(text_row)
            _progress(int(str(batch[-1][0])), started)
        created = _tz(_ts(NOW))
        delivered = 0
        with pg.cursor() as cur:
            with cur.copy(
                "COPY chat (id, type, timezone, digest_time, article_count, subscribed, active, "
                "created_at, updated_at) FROM STDIN"
            ) as chat_copy:
                follows_rows: list[tuple[int, int]] = []
                delivered_rows: list[tuple[int, int, str]] = []
                for chat_id, follows, rows_d in _chats(rng, by_day):
                    chat_copy.write_row(
                        (chat_id, "private", "UTC", "08:00", 5, True, True, created, created)
                    )
                    follows_rows += [(chat_id, t) for t in follows]
                    delivered_rows += [(c, a, day + " 08:00:00+00") for c, a, day in rows_d]
            with cur.copy("COPY chat_tag (chat_id, tag_id) FROM STDIN") as copy:
                for follow in follows_rows:
                    copy.write_row(follow)
            with cur.copy(
                "COPY delivered_article (chat_id, article_id, delivered_at) FROM STDIN"
            ) as copy:
                for delivered_row in delivered_rows:
                    copy.write_row(delivered_row)
            delivered = len(delivered_rows)
        print(f"  loaded in {time.perf_counter() - started:.0f} s; indexing ...", flush=True)
        pg.execute("SET maintenance_work_mem = '1GB'")
        for _, definition in indexes:
            pg.execute(definition)
        pg.commit()
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE")
    elapsed = time.perf_counter() - started
    print(f"built {articles} articles, {delivered} deliveries in {elapsed:.0f} s")


def _tz(value: object) -> str:
    return f"{value}+00"


def article_count(db: Path) -> int:
    if not db.exists():
        return -1
    try:
        conn = sqlite3.connect(db)
        try:
            done = conn.execute("SELECT count(*) FROM chat").fetchone()[0]
            return int(conn.execute("SELECT count(*) FROM article").fetchone()[0]) if done else -1
        finally:
            conn.close()
    except sqlite3.Error:
        return -1


def postgres_article_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            done = conn.execute(text("SELECT count(*) FROM chat")).scalar_one()
            found = conn.execute(text("SELECT count(*) FROM article")).scalar_one()
            return int(found) if done else -1
    except SQLAlchemyError:
        return -1
    finally:
        engine.dispose()


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm the cache and the statement cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(label: str, samples: list[float]) -> dict[str, float | str | int]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    row: dict[str, float | str | int] = {
        "query": label,
        "n": len(samples),
        "p50": statistics.median(ordered),
        "p95": p95,
        "max": ordered[-1],
    }
    print(
        f"| {label:<52} | {len(samples):>5} | {row['p50']:8.2f} | {p95:8.2f} | {ordered[-1]:8.2f} |"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=ROOT / "benchmarks" / "ranking.sqlite3")
    parser.add_argument("--queries", type=int, default=2000, help="ranking queries (chats)")
    parser.add_argument("--search-runs", type=int, default=20, help="runs per search query")
    parser.add_argument(
        "--url", default=None, help="PostgreSQL URL to build and query instead of the --db file"
    )
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    if args.url:
        if args.rebuild or postgres_article_count(args.url) != args.articles:
            print(f"building the PostgreSQL database with {args.articles} articles ...")
            build_postgres(args.url, args.articles, args.seed)
        else:
            print(f"reusing the PostgreSQL database ({args.articles} articles)")
        engine = make_engine(args.url)
    else:
        if args.rebuild or article_count(args.db) != args.articles:
            print(f"building {args.db} with {args.articles} articles ...")
            build(args.db, args.articles, args.seed)
        else:
            print(f"reusing {args.db} ({args.articles} articles)")
        engine = make_engine(f"sqlite:///{args.db}")
    # A reused database gets the migrations added since it was built (new indexes), so
    # figures are always taken at head.
    upgrade(engine)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    rng = random.Random(args.seed)
    weights = RankWeights()
    since = NOW - timedelta(hours=48)
    with Session(engine) as session:
        # Plans, for the README: what the ranking query actually does.
        follows = dict(
            session.connection()
            .execute(text("SELECT chat_id, count(*) FROM chat_tag GROUP BY chat_id"))
            .all()
        )
        plain = next(c for c in range(1, CHATS + 1) if c not in follows)
        tagged = next(iter(follows))
        for label, chat_id in (
            ("follows no tag", plain),
            (f"follows {follows[tagged]} tags", tagged),
        ):
            plan = explain(
                engine,
                lambda c=chat_id: top_article_ids(
                    session=session, chat_id=c, limit=10, since=since, until=NOW, weights=weights
                ),
            )
            print(f"plan, chat {label}:")
            for line in plan:
                print("   ", line)
        plan = explain(
            engine,
            lambda: top_article_ids(
                session=session,
                chat_id=None,
                limit=10,
                since=NOW - timedelta(days=30),
                until=NOW,
                weights=weights,
                tag_ids=[7],
            ),
        )
        print("plan, one tag, 30 days:")
        for line in plan:
            print("   ", line)
        for query in ("datacenter", "融资", "大模型", "融"):
            plan = explain(
                engine, lambda q=query: search_article_ids(session=session, query=q, limit=10)
            )
            print(f"plan, search {query!r}:")
            for line in plan:
                print("   ", line)

        chats = [rng.randint(1, CHATS) for _ in range(args.queries)]
        it = iter(chats * 2)
        print()
        print("| query | n | p50 ms | p95 ms | max ms |")
        print("|---|---:|---:|---:|---:|")

        def digest() -> object:
            return top_article_ids(
                session=session,
                chat_id=next(it),
                limit=10,
                since=since,
                until=NOW,
                weights=weights,
            )

        samples = timed(digest, args.queries)
        report("top_article_ids: digest, 48 h, per chat, limit 10", samples)
        tags = iter([rng.randint(1, TAGS) for _ in range(args.queries + 1)])
        report(
            "top_article_ids: /tag, 48 h, one tag, limit 10",
            timed(
                lambda: top_article_ids(
                    session=session,
                    chat_id=None,
                    limit=10,
                    since=since,
                    until=NOW,
                    weights=weights,
                    tag_ids=[next(tags)],
                ),
                args.queries,
            ),
        )
        report(
            "top_article_ids: /top, 24 h, no chat, limit 10",
            timed(
                lambda: top_article_ids(
                    session=session,
                    chat_id=None,
                    limit=10,
                    since=NOW - timedelta(hours=24),
                    until=NOW,
                    weights=weights,
                    exclude_delivered=False,
                ),
                200,
            ),
        )
        tags = iter([rng.randint(1, TAGS) for _ in range(201)])
        report(
            "top_article_ids: one tag, 30 days, limit 10",
            timed(
                lambda: top_article_ids(
                    session=session,
                    chat_id=None,
                    limit=10,
                    since=NOW - timedelta(days=30),
                    until=NOW,
                    weights=weights,
                    tag_ids=[next(tags)],
                ),
                200,
            ),
        )
        report(
            "latest_article_ids: limit 10",
            timed(lambda: latest_article_ids(session=session, limit=10), 200),
        )
        for query in (
            "datacenter",
            "quantum lawsuit",
            "open source model",
            "大模型",
            "量子 诉讼",
            "融资",
            "AI",
            '"(* hostile - AND',
        ):
            report(
                f"search_article_ids: {query!r}, limit 10",
                timed(
                    lambda q=query: search_article_ids(session=session, query=q, limit=10),
                    args.search_runs,
                ),
            )
    engine.dispose()


def explain(engine: Engine, run: Callable[[], object]) -> list[str]:
    """EXPLAIN QUERY PLAN of the last statement ``run`` sends (captured as executed)."""
    captured: list[tuple[str, object]] = []

    def capture(
        _conn: object, _cursor: object, statement: str, parameters: object, *_args: object
    ) -> None:
        captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS) "
        if engine.dialect.name == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()  # type: ignore[arg-type]
    return [str(row[-1]) for row in rows]


if __name__ == "__main__":
    main()
