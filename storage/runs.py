"""Digest runs: one row per planner pass that planned something, and what became of it.

Reports read live per-state counts of a run's deliveries (``storage.outbox`` owns the rows).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, and_, func, or_, select, update
from sqlmodel import Session

from storage.models import Delivery, DigestRun
from storage.outbox import PENDING, SENDING, STATES

_DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]
_RUN: Table = DigestRun.__table__  # type: ignore[attr-defined]


def create_run(*, session: Session, now: datetime) -> int:
    run_id = session.execute(
        _RUN.insert().values(started_at=now, planned=0, skipped=0).returning(_RUN.c.id)
    ).scalar_one()
    return int(run_id)


def set_run_counts(*, session: Session, run_id: int, planned: int, skipped: int) -> None:
    session.execute(
        update(_RUN)
        .where(_RUN.c.id == run_id)
        .values(planned=_RUN.c.planned + planned, skipped=_RUN.c.skipped + skipped)
    )


def delete_run(*, session: Session, run_id: int) -> None:
    session.execute(_RUN.delete().where(_RUN.c.id == run_id))


def finish_runs(*, session: Session, now: datetime) -> None:
    """Close runs that have nothing left pending or sending."""
    busy = (
        select(_DELIVERY.c.id)
        .where(
            _DELIVERY.c.run_id == _RUN.c.id,
            or_(_DELIVERY.c.state == PENDING, _DELIVERY.c.state == SENDING),
        )
        .exists()
    )
    session.execute(update(_RUN).where(_RUN.c.finished_at.is_(None), ~busy).values(finished_at=now))


def count_due_pending(*, session: Session, now: datetime) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(_DELIVERY)
            .where(and_(_DELIVERY.c.state == PENDING, _DELIVERY.c.due_at <= now))
        ).scalar_one()
    )


@dataclass(frozen=True, slots=True)
class RunSummary:
    id: int
    started_at: datetime
    finished_at: datetime | None
    first_sent_at: datetime | None
    last_sent_at: datetime | None
    counts: dict[str, int]

    @property
    def planned(self) -> int:
        return sum(self.counts.values())


def recent_runs(*, session: Session, limit: int = 10) -> list[RunSummary]:
    """The newest runs with live per-state counts of their deliveries."""
    runs = session.execute(
        select(
            _RUN.c.id,
            _RUN.c.started_at,
            _RUN.c.finished_at,
            _RUN.c.first_sent_at,
            _RUN.c.last_sent_at,
        )
        .order_by(_RUN.c.id.desc())
        .limit(limit)
    ).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if runs:
        for run_id, state, n in session.execute(
            select(_DELIVERY.c.run_id, _DELIVERY.c.state, func.count())
            .where(_DELIVERY.c.run_id.in_([r.id for r in runs]))
            .group_by(_DELIVERY.c.run_id, _DELIVERY.c.state)
        ):
            counts[int(run_id)][str(state)] = int(n)
    return [
        RunSummary(
            id=int(r.id),
            started_at=r.started_at,
            finished_at=r.finished_at,
            first_sent_at=r.first_sent_at,
            last_sent_at=r.last_sent_at,
            counts={s: counts[int(r.id)].get(s, 0) for s in STATES},
        )
        for r in runs
    ]


def state_counts(*, session: Session) -> dict[str, int]:
    rows = session.execute(
        select(_DELIVERY.c.state, func.count()).group_by(_DELIVERY.c.state)
    ).all()
    found = {str(s): int(n) for s, n in rows}
    return {s: found.get(s, 0) for s in STATES}
