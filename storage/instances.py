"""The registry of running instances: registration, heartbeats, who is alive.

An instance is alive while its heartbeat is recent; callers pass the horizon (``since``).
Rows of instances that stopped cleanly are deleted; rows of dead ones are pruned later, so a
crash stays visible in ``digestbot status`` for a while.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, delete, select, update
from sqlmodel import Session

from storage.models import BotInstance
from storage.schemas import InstanceRow

_INSTANCE: Table = BotInstance.__table__  # type: ignore[attr-defined]


def register(
    *, session: Session, instance_id: str, host: str, pid: int, mode: str, now: datetime
) -> None:
    session.execute(
        _INSTANCE.insert().values(
            id=instance_id,
            host=host[:255],
            pid=pid,
            mode=mode,
            roles="",
            started_at=now,
            heartbeat_at=now,
        )
    )


def heartbeat(*, session: Session, instance_id: str, roles: tuple[str, ...], now: datetime) -> bool:
    """Record that the instance lives and what it does; False if its row was pruned."""
    result = session.execute(
        update(_INSTANCE)
        .where(_INSTANCE.c.id == instance_id)
        .values(roles=",".join(roles), heartbeat_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def unregister(*, session: Session, instance_id: str) -> None:
    session.execute(delete(_INSTANCE).where(_INSTANCE.c.id == instance_id))


def prune(*, session: Session, before: datetime) -> int:
    """Forget instances whose last heartbeat is older than ``before``."""
    result = session.execute(delete(_INSTANCE).where(_INSTANCE.c.heartbeat_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


def instances(*, session: Session, since: datetime | None = None) -> list[InstanceRow]:
    """Registered instances (alive ones only when ``since`` is given), oldest first."""
    statement = select(_INSTANCE).order_by(_INSTANCE.c.started_at, _INSTANCE.c.id)
    if since is not None:
        statement = statement.where(_INSTANCE.c.heartbeat_at >= since)
    return [
        InstanceRow(
            id=str(r.id),
            host=str(r.host),
            pid=int(r.pid),
            mode=str(r.mode),
            roles=tuple(part for part in str(r.roles).split(",") if part),
            started_at=r.started_at,
            heartbeat_at=r.heartbeat_at,
        )
        for r in session.execute(statement)
    ]
