"""Planning benchmark: create the delivery rows for N due chats; time and peak RSS.

    .venv/bin/python benchmarks/planning.py --chats 100000
    .venv/bin/python benchmarks/planning.py --chats 100000 --url postgresql+psycopg://...
    .venv/bin/python benchmarks/planning.py --chats 100000 --statements  # time per statement

Chats get a mix of 8 time zones and 4 digest times, all due now. Peak RSS is the whole
process (Python, SQLAlchemy, PTB imports included) after planning.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

import bot.delivery.broadcaster  # noqa: F401  (the bot process imports it too: count its memory)
from bot.delivery.planner import plan_once
from storage.db import make_engine, upgrade
from storage.models import Chat, Delivery

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Europe/London",
    "America/Los_Angeles",
    "Australia/Sydney",
]
TIMES = ["07:00", "08:00", "08:30", "21:00"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--url", default=None, help="database URL (default: a temp SQLite file)")
    parser.add_argument(
        "--statements", action="store_true", help="print time per statement and commit"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/planning.sqlite3"
        engine = make_engine(url)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:  # a database of the benchmark's own: start empty
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(engine)
        now = datetime.now(UTC)
        due = now - timedelta(minutes=1)
        rows = [
            {
                "id": 10_000_000 + i,
                "type": "private",
                "timezone": ZONES[i % len(ZONES)],
                "digest_time": TIMES[i % len(TIMES)],
                "article_count": 5,
                "subscribed": True,
                "active": True,
                "next_digest_at": due,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(args.chats)
        ]
        with Session(engine) as session:
            for start in range(0, len(rows), 10_000):
                session.execute(insert(Chat), rows[start : start + 10_000])
            session.commit()
        del rows
        spent = _time_statements(engine) if args.statements else None
        started = time.perf_counter()
        result = plan_once(engine=engine, now=now, grace=timedelta(hours=6))
        elapsed = time.perf_counter() - started
        with Session(engine) as session:
            count = session.scalar(select(func.count()).select_from(Delivery))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{engine.dialect.name}: planned {result.planned} deliveries ({count} rows) for "
            f"{result.chats} chats in {elapsed:.2f}s; peak RSS {peak_mb:.0f} MB"
        )
        if spent is not None:
            seconds, counts = spent
            for kind, total in seconds.most_common():
                print(f"{total:8.3f} s {counts[kind]:5d} × {kind}")
        engine.dispose()


def _time_statements(engine: Engine) -> tuple[Counter[str], Counter[str]]:
    """(seconds, count) per kind of statement and for COMMIT, from SQLAlchemy's events, filled
    in while the planner runs (single-threaded here, so one clock for commits will do)."""
    seconds: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    clock: dict[str, float] = {}

    def label(statement: str) -> str:
        words = " ".join(statement.split())
        kinds = {
            "WITH c AS": "PostgreSQL group: lock, INSERT, UPDATE",
            "INSERT INTO delivery": "INSERT INTO delivery",
            "UPDATE chat": "UPDATE chat",
            "SELECT r FROM": "number the due chats (ranges)",
            "SELECT chat.timezone": "find the groups",
        }
        for start, kind in kinds.items():
            if start in words:
                return kind
        return words[:40]

    def add(kind: str, started: float) -> None:
        seconds[kind] += time.perf_counter() - started
        counts[kind] += 1

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        clock["statement"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        add(label(statement), clock.pop("statement"))

    @event.listens_for(engine, "commit")
    def _commit(conn):  # type: ignore[no-untyped-def]
        clock["commit"] = time.perf_counter()

    @event.listens_for(Session, "after_commit")
    def _committed(session):  # type: ignore[no-untyped-def]
        if "commit" in clock:
            add("COMMIT", clock.pop("commit"))

    return seconds, counts


if __name__ == "__main__":
    main()
