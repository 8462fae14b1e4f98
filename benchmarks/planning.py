"""Planning benchmark: create the delivery rows for N due chats; time and peak RSS.

    .venv/bin/python benchmarks/planning.py --chats 100000
    .venv/bin/python benchmarks/planning.py --chats 100000 --url postgresql+psycopg://...

Chats get a mix of 8 time zones and 4 digest times, all due now. Peak RSS is the whole
process (Python, SQLAlchemy, PTB imports included) after planning.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text
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
        engine.dispose()


if __name__ == "__main__":
    main()
