"""One story, one item: find articles several feeds carry, without asking the model.

Two articles tell the same story when their normalised URLs are equal, their normalised
titles are equal, or the shingles (3-token windows; a Chinese character is a token) of
title + summary overlap enough (Jaccard). Across languages, where no text can match, the
embeddings of title + summary decide (cosine similarity, ``DIGESTBOT_DUPLICATE_SIMILARITY``)
when the model server has an embeddings endpoint configured. A story's first imported
article stands for it; the others point at it (``article.duplicate_of``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.engine import Engine

from bot.config import Settings
from storage.db import session_scope
from storage.stories import StoryCandidate, embeddings, set_duplicates, story_candidates

TITLE_SHINGLE_JACCARD = 0.7
TEXT_SHINGLE_JACCARD = 0.5
SHINGLE = 3
# A shingle shared by more articles than this says nothing about any pair (boilerplate).
_COMMON_SHINGLE = 200
_TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|mc_[a-z]+|ref|ref_src|source|cmpid)$")
_TOKEN = re.compile(r"[0-9a-z]+|[\u3400-\u9fff\uf900-\ufaff]")


def normalize_url(url: str) -> str:
    """Scheme-, ``www.``-, tracking-parameter-, fragment- and trailing-slash-insensitive."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query) if not _TRACKING.match(k.lower()))
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("", host, path, query, ""))


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def normalize_title(title: str) -> str:
    return " ".join(tokens(title))


def shingles(text: str, size: int = SHINGLE) -> frozenset[str]:
    words = tokens(text)
    if len(words) < size:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b) or not a:
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class _Clusters:
    """Union-find whose root is always the earliest article (lowest position)."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _same_language_pairs(items: Sequence[StoryCandidate]) -> Iterable[tuple[int, int]]:
    by_url: dict[str, int] = {}
    by_title: dict[tuple[str, str], int] = {}
    index: dict[tuple[str, str], list[int]] = defaultdict(list)
    title_sh: list[dict[str, frozenset[str]]] = []
    text_sh: list[dict[str, frozenset[str]]] = []
    for pos, item in enumerate(items):
        url = normalize_url(item.url)
        if url.endswith("/") and "?" not in url:
            pass  # a feed that links every entry to its home page says nothing
        elif url in by_url:
            yield by_url[url], pos
        else:
            by_url[url] = pos
        titles: dict[str, frozenset[str]] = {}
        texts: dict[str, frozenset[str]] = {}
        for lang, (title, summary) in item.texts.items():
            key = (lang, normalize_title(title))
            if key[1]:
                if key in by_title:
                    yield by_title[key], pos
                else:
                    by_title[key] = pos
            titles[lang] = shingles(title)
            texts[lang] = shingles(f"{title}\n{summary}")
        title_sh.append(titles)
        text_sh.append(texts)
        candidates: set[int] = set()
        for lang, sh in texts.items():
            for s in sh:
                bucket = index[(lang, s)]
                if len(bucket) < _COMMON_SHINGLE:
                    candidates.update(bucket)
                bucket.append(pos)
        for other in sorted(candidates):
            for lang in texts.keys() & text_sh[other].keys():
                if (
                    jaccard(texts[lang], text_sh[other][lang]) >= TEXT_SHINGLE_JACCARD
                    or jaccard(titles[lang], title_sh[other][lang]) >= TITLE_SHINGLE_JACCARD
                ):
                    yield other, pos
                    break


def _embedding_pairs(
    items: Sequence[StoryCandidate], vectors: Mapping[int, Sequence[float]], threshold: float
) -> Iterable[tuple[int, int]]:
    known = [(pos, item) for pos, item in enumerate(items) if item.id in vectors]
    for i, (pa, a) in enumerate(known):
        for pb, b in known[i + 1 :]:
            if a.texts.keys() & b.texts.keys():
                continue  # same language: the text comparison already decided
            if cosine(vectors[a.id], vectors[b.id]) >= threshold:
                yield pa, pb


def find_duplicates(
    items: Sequence[StoryCandidate],
    vectors: Mapping[int, Sequence[float]] | None = None,
    threshold: float = 0.9,
) -> dict[int, int | None]:
    """``article id -> the story's first article`` (None for the first one itself)."""
    clusters = _Clusters(len(items))
    for a, b in _same_language_pairs(items):
        clusters.join(a, b)
    if vectors:
        for a, b in _embedding_pairs(items, vectors, threshold):
            clusters.join(a, b)
    verdicts: dict[int, int | None] = {}
    for pos, item in enumerate(items):
        root = clusters.find(pos)
        verdicts[item.id] = None if root == pos else items[root].id
    return verdicts


def dedup_window(settings: Settings) -> timedelta:
    """Stories are compared over the digest window plus a day of slack."""
    return timedelta(hours=settings.digest_window_hours + 24)


def link_duplicates(*, engine: Engine, settings: Settings, now: datetime) -> int:
    """Recompute the stories of the recent window; returns how many articles changed."""
    with session_scope(engine) as session:
        items = story_candidates(session=session, since=now - dedup_window(settings))
        vectors: dict[int, Sequence[float]] = {}
        if settings.llm_enabled and settings.llm_embedding_model:
            found = embeddings(
                session=session, ids=[i.id for i in items], model=settings.llm_embedding_model
            )
            vectors = {article_id: row.vector for article_id, row in found.items()}
        verdicts = find_duplicates(items, vectors, settings.duplicate_similarity)
        return set_duplicates(session=session, verdicts=verdicts)
