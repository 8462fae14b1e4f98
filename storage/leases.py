"""Leases on outbox rows: who works on a row, until when, and recovery when that expires.

A sender leases rows (``outbox.claim_pending``) while they are still pending, marks each
``sending`` just before its request leaves (``mark_sending``, in small group commits), renews
its leases while it works (``renew_leases``), and any instance periodically recovers rows
whose lease expired (``recover_expired``). Callers own transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, select, text, update
from sqlmodel import Session

from storage.models import Delivery
from storage.outbox import PENDING, SENDING, UNKNOWN, SendingPolicy
from storage.types import UTCDateTime

_DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]


def recover_expired(*, session: Session, policy: SendingPolicy, now: datetime) -> int:
    """Rows whose lease has expired (their owner died or lost the database) are recovered.

    ``sending`` rows may or may not have reached Telegram: ``unknown`` (default policy) or back
    to pending (``resend``). Pending rows only lose their stale owner. Rows of a live owner,
    whose lease it keeps renewing, are never touched. Returns the ``sending`` rows recovered.
    """
    expired = or_(_DELIVERY.c.lease_until.is_(None), _DELIVERY.c.lease_until < now)
    values: dict[str, Any] = {"updated_at": now, "owner": None, "lease_until": None}
    if policy == "resend":
        values.update(state=PENDING, reason="resent: its sender stopped mid-request")
    else:
        values.update(state=UNKNOWN, reason="was sending when its sender stopped")
    result = session.execute(
        update(_DELIVERY).where(_DELIVERY.c.state == SENDING, expired).values(values)
    )
    session.execute(
        update(_DELIVERY)
        .where(
            _DELIVERY.c.state == PENDING,
            _DELIVERY.c.owner.is_not(None),
            _DELIVERY.c.lease_until < now,
        )
        .values(owner=None, lease_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def renew_leases(*, session: Session, owner: str, until: datetime) -> int:
    """Extend the lease on every row this owner holds (pending claims and sending).

    PostgreSQL: rows another transaction of ours holds right now (a mark, an outcome) are
    skipped rather than waited for — that transaction sets or clears their lease itself, and
    waiting could deadlock with it (it may lock them in another order).
    """
    mine = and_(_DELIVERY.c.owner == owner, _DELIVERY.c.state.in_((PENDING, SENDING)))
    if session.get_bind().dialect.name == "postgresql":
        free = select(_DELIVERY.c.id).where(mine).with_for_update(skip_locked=True)
        mine = _DELIVERY.c.id.in_(free.scalar_subquery())
    result = session.execute(update(_DELIVERY).where(mine).values(lease_until=until))
    return int(result.rowcount)  # type: ignore[attr-defined]


_MARK_SENDING = (
    update(_DELIVERY)
    .where(
        _DELIVERY.c.id.in_(bindparam("ids", expanding=True)),
        _DELIVERY.c.owner == bindparam("b_owner"),
        _DELIVERY.c.state == PENDING,
    )
    .values(
        state=SENDING,
        attempts=_DELIVERY.c.attempts + 1,
        updated_at=bindparam("now", type_=UTCDateTime()),
        lease_until=bindparam("b_until", type_=UTCDateTime()),
    )
    .returning(_DELIVERY.c.id)
)


def mark_sending(
    *, session: Session, ids: Sequence[int], owner: str, now: datetime, until: datetime
) -> set[int]:
    """Mark claimed rows ``sending`` just before their requests leave: the ids marked.

    A row missing from the answer is no longer ours (our lease expired and someone else
    recovered it): its request must not go out.
    """
    if not ids:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        # This commit sits between the rate limiter's grant and the request, so its latency
        # costs broadcast rate. Not waiting for the WAL flush keeps it short; the mark still
        # survives our own crash (the server has it), only a crash of the database server
        # within a fraction of a second could undo it (then the row may be sent twice).
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    rows = session.execute(
        _MARK_SENDING, {"ids": list(ids), "b_owner": owner, "now": now, "b_until": until}
    )
    return {int(i) for (i,) in rows}


def owner_counts(*, session: Session) -> list[tuple[str, str | None, int]]:
    """(state, owner, rows) for rows someone holds or that wait: pending and sending."""
    rows = session.execute(
        select(_DELIVERY.c.state, _DELIVERY.c.owner, func.count())
        .where(_DELIVERY.c.state.in_((PENDING, SENDING)))
        .group_by(_DELIVERY.c.state, _DELIVERY.c.owner)
        .order_by(_DELIVERY.c.state, _DELIVERY.c.owner)
    ).all()
    return [(str(s), None if o is None else str(o), int(n)) for s, o, n in rows]
