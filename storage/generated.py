"""What the newsroom wrote for an article: the write model and the read side for renderers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from storage.models import GeneratedField

_IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class GeneratedText:
    lang: str
    field: str
    text: str
    origin: str


@dataclass(frozen=True, slots=True)
class Enriched:
    """What one answer adds to an article (already validated)."""

    texts: tuple[GeneratedText, ...] = ()
    scores: tuple[int, int, int] | None = None  # hot, quality, impact
    tags: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)


def generated_fields(*, session: Session, ids: Sequence[int]) -> dict[int, list[GeneratedField]]:
    found: dict[int, list[GeneratedField]] = defaultdict(list)
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        for row in session.exec(
            select(GeneratedField).where(col(GeneratedField.article_id).in_(chunk))
        ):
            found[row.article_id].append(row)
    return found
