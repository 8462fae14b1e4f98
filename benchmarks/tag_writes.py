"""What writing articles costs, from one source tree, for before/after runs (the copies of
scores and dates that triggers keep in ``article_tag`` since migration 0011 cost writes).

    .venv/bin/python benchmarks/tag_writes.py ROOT URL N LABEL

ROOT is the repository whose ``storage`` is imported (this tree or a ``git archive`` copy),
URL a SQLite file (replaced) or a PostgreSQL database (its public schema is replaced), N the
articles. Imports N articles with two tags each through ``storage.articles.upsert_article``
(100 per transaction), then re-imports them with new scores and a later date (the update
path), and prints both times. Alternate two ROOTs in one session for a same-run comparison.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, sys.argv[1])

from sqlalchemy import text
from sqlmodel import Session

from storage.articles import ArticleData, TagData, upsert_article
from storage.db import make_engine, upgrade

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BATCH = 100


def main() -> None:
    url, n, label = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    tags = [TagData(slug=f"tag{t}", names={"en": f"Tag {t}"}) for t in range(30)]

    def data(i: int, shift: int) -> ArticleData:
        return ArticleData(
            external_id=f"w-{i}",
            url=f"https://news.example/{i}",
            published_at=NOW - timedelta(minutes=i) + timedelta(seconds=shift),
            title={"en": f"Title {i}"},
            summary={"en": f"Summary {i}"},
            hot=(i * 7 + shift) % 101,
            quality=(i * 11 + shift) % 101,
            impact=(i * 13 + shift) % 101,
            tags=(tags[i % 30], tags[(i * 7 + 3) % 30]),
        )

    for phase, shift in (("import", 0), ("re-import, new scores", 1)):
        started = time.perf_counter()
        for first in range(0, n, BATCH):
            with Session(engine) as session:
                for i in range(first, min(n, first + BATCH)):
                    upsert_article(session=session, data=data(i, shift))
                session.commit()
        elapsed = (time.perf_counter() - started) * 1000
        print(f"| {label} {phase} | {n} | {elapsed / n:.3f} ms/article |", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
