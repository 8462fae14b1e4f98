"""Requests and tokens spent on the model: per UTC day (the budget) and per minute (the rate).

Both are rows of ``llm_usage`` changed with UPDATE ... SET n = n + x, so every process counts
into the same numbers.
"""

from __future__ import annotations

from sqlalchemy import Table, delete, update
from sqlmodel import Session, col, select

from storage.db import insert_ignoring_conflicts
from storage.models import LlmUsage

_USAGE: Table = LlmUsage.__table__  # type: ignore[attr-defined]


def add_usage(
    *, session: Session, day: str, prompt_tokens: int, completion_tokens: int, total_tokens: int
) -> None:
    """Count one request and its tokens against the UTC day ``YYYY-MM-DD``."""
    insert_ignoring_conflicts(
        session,
        _USAGE,
        [
            {
                "day": day,
                "requests": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "total_tokens": 0,
            }
        ],
    )
    session.execute(
        update(_USAGE)
        .where(_USAGE.c.day == day)
        .values(
            requests=_USAGE.c.requests + 1,
            prompt_tokens=_USAGE.c.prompt_tokens + prompt_tokens,
            completion_tokens=_USAGE.c.completion_tokens + completion_tokens,
            total_tokens=_USAGE.c.total_tokens + total_tokens,
        )
    )


def tokens_used(*, session: Session, day: str) -> int:
    used = session.exec(select(LlmUsage.total_tokens).where(LlmUsage.day == day)).first()
    return int(used or 0)


def take_request_slot(*, session: Session, minute: str, per_minute: int) -> bool:
    """One request in the minute ``YYYY-MM-DDTHH:MM`` if fewer than ``per_minute`` were made,
    counted across every process (a conditional UPDATE on a shared row)."""
    insert_ignoring_conflicts(
        session,
        _USAGE,
        [
            {
                "day": minute,
                "requests": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "total_tokens": 0,
            }
        ],
    )
    result = session.execute(
        update(_USAGE)
        .where(_USAGE.c.day == minute, _USAGE.c.requests < per_minute)
        .values(requests=_USAGE.c.requests + 1)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def prune_minutes(*, session: Session, before: str) -> None:
    """Drop per-minute rows older than ``before`` (days have no ``T`` and are kept)."""
    session.execute(
        delete(LlmUsage).where(col(LlmUsage.day).contains("T"), col(LlmUsage.day) < before)
    )
