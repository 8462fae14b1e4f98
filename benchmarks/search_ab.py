"""Search from one source tree, for before/after runs on one database.

    .venv/bin/python benchmarks/search_ab.py ROOT URL RUNS LABEL [QUERY ...]

ROOT is the repository whose ``storage.search`` is imported (this tree, or a ``git archive``
copy of an older commit), URL a database built by ``benchmarks/ranking.py``, RUNS the runs per
query (after one warm-up). Prints p50/p95/max in ms and the first ids found, so two trees can
be compared for speed and for the same answers. Alternate two ROOTs in one session.
"""

from __future__ import annotations

import statistics
import sys
import time

sys.path.insert(0, sys.argv[1])

from sqlmodel import Session

from storage.db import make_engine
from storage.search import search_article_ids

QUERIES = ("大模型", "融资", "量子 诉讼", "融", "datacenter", "open source model", "AI")


def main() -> None:
    engine = make_engine(sys.argv[2])
    runs, label = int(sys.argv[3]), sys.argv[4]
    queries = sys.argv[5:] or QUERIES
    with Session(engine) as session:
        for query in queries:
            found = search_article_ids(session=session, query=query, limit=10)
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                search_article_ids(session=session, query=query, limit=10)
                samples.append((time.perf_counter() - started) * 1000)
            samples.sort()
            p95 = samples[round(0.95 * (runs - 1))]
            print(
                f"| {label} {query!r} | {runs} | {statistics.median(samples):.2f} | {p95:.2f} "
                f"| {samples[-1]:.2f} | {found[:5]} |",
                flush=True,
            )
    engine.dispose()


if __name__ == "__main__":
    main()
