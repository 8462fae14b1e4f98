"""Digest and 30-day tag ranking from one source tree, for before/after runs on one database.

    .venv/bin/python benchmarks/ranking_ab.py ROOT URL N LABEL

ROOT is the repository whose ``storage.ranking`` is imported (this tree, or a ``git archive``
copy of an older commit), URL a database built by ``benchmarks/ranking.py``, N the queries
per row. Alternate two ROOTs in one session for a same-run comparison.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

sys.path.insert(0, sys.argv[1])

from sqlmodel import Session

from storage.db import make_engine
from storage.ranking import RankWeights, top_article_ids

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def main() -> None:
    engine = make_engine(sys.argv[2])
    n, label = int(sys.argv[3]), sys.argv[4]
    rng = random.Random(7)
    weights = RankWeights()
    with Session(engine) as session:

        def digest() -> object:
            chat = rng.randint(1, 3000)
            return top_article_ids(
                session=session,
                chat_id=chat,
                limit=10,
                since=NOW - timedelta(hours=48),
                until=NOW,
                weights=weights,
            )

        def tag30() -> object:
            tag = rng.randint(1, 30)
            return top_article_ids(
                session=session,
                chat_id=None,
                limit=10,
                since=NOW - timedelta(days=30),
                until=NOW,
                weights=weights,
                tag_ids=[tag],
            )

        runs: list[tuple[str, Callable[[], object]]] = [
            ("digest", digest),
            ("digest", digest),
            ("tag, 30 days", tag30),
        ]
        for kind, query in runs:
            samples = []
            for _ in range(n):
                started = time.perf_counter()
                query()
                samples.append((time.perf_counter() - started) * 1000)
            samples.sort()
            p95 = samples[round(0.95 * (n - 1))]
            print(
                f"| {label} {kind} | {n} | {statistics.median(samples):.2f} | {p95:.2f} "
                f"| {samples[-1]:.2f} |",
                flush=True,
            )
    engine.dispose()


if __name__ == "__main__":
    main()
