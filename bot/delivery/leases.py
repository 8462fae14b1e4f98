"""The sender's side of leases: group-commit ``sending`` marks, renew leases, instance ids.

``SendingMarker.mark`` is awaited by each request after the rate limiter granted its slot and
before it leaves. Marks arriving while a commit runs wait for the next one, so under load a
commit covers a small group and at low rates each request costs one short commit. A kill -9
therefore leaves in ``sending`` only rows whose requests were granted, i.e. on the wire (or a
commit away from it) — not a claim batch ahead of the limiter.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from storage import leases
from storage.db import session_scope
from storage.outbox import begin_write

MAX_GROUP = 64


def new_instance_id() -> str:
    """``host-pid-random``: readable in ``digestbot status``, unique across restarts."""
    host = socket.gethostname().split(".", 1)[0][:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


class LeaseLost(Exception):
    """The row is no longer ours (our lease expired and another instance recovered it)."""


class SendingMarker:
    """Marks leased rows ``sending`` in group commits, just before their requests leave."""

    def __init__(
        self,
        *,
        engine: Engine,
        owner: str,
        lease: timedelta,
        now: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.owner = owner
        self.lease = lease
        self._now = now
        self._waiting: list[tuple[int, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.commits = 0

    async def mark(self, delivery_id: int) -> None:
        """Return once the row is committed as ``sending``; ``LeaseLost`` if it is not ours."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((delivery_id, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_groups(), name="mark-sending")
        if not await asyncio.shield(future):
            raise LeaseLost(f"delivery {delivery_id} was recovered by another instance")

    async def _write_groups(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            try:
                marked = await asyncio.to_thread(self._write, [i for i, _ in group])
            except SQLAlchemyError as exc:  # handed to every waiter: its request stays unsent
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for delivery_id, future in group:
                if not future.done():
                    future.set_result(delivery_id in marked)

    def _write(self, ids: list[int]) -> set[int]:
        now = self._now()
        with session_scope(self.engine) as session:
            begin_write(session=session)
            marked = leases.mark_sending(
                session=session, ids=ids, owner=self.owner, now=now, until=now + self.lease
            )
        self.commits += 1
        return marked

    def renew(self) -> int:
        """Extend the lease of every row this owner holds (blocking; call from a thread)."""
        with session_scope(self.engine) as session:
            begin_write(session=session)
            return leases.renew_leases(
                session=session, owner=self.owner, until=self._now() + self.lease
            )
