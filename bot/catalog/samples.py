"""The sandbox's fictional sample articles, and how many of them a database holds."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from sqlalchemy.engine import Engine

from storage.articles import count_articles_by_external_id
from storage.db import session_scope

SAMPLE_ARTICLES = Path(__file__).resolve().parents[2] / "data" / "sample-articles.jsonl"


@cache
def sample_ids(path: Path = SAMPLE_ARTICLES) -> frozenset[str]:
    """External ids of the sample articles (empty when the file is not shipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return frozenset()
    return frozenset(str(json.loads(line)["id"]) for line in lines if line.strip())


def count_sample_articles(engine: Engine) -> int:
    """How many sample articles the database holds: a real bot should hold none."""
    ids = sample_ids()
    if not ids:
        return 0
    with session_scope(engine) as session:
        return count_articles_by_external_id(session=session, external_ids=sorted(ids))
