"""The sender's side of leases: group-commit ``sending`` marks, renew leases, instance ids.

``SendingMarker.mark`` is awaited by each request after the rate limiter granted its slot and
before it leaves. Marks arriving while a commit runs wait for the next one, so under load a
commit covers a small group and at low rates each request costs one short commit. A kill -9
therefore leaves in ``sending`` only rows whose requests were granted, i.e. on the wire (or a
commit away from it) — not a claim batch ahead of the limiter.

Outcomes waiting to be written ride along in the same commits (``outcomes``), so a row whose
answer came back is recorded within one request's time and is not left in ``sending`` for a
crash to make ambiguous.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from storage import leases
from storage.db import session_scope
from storage.outbox import Outcome, begin_write, record_outcomes

MAX_GROUP = 64


def new_instance_id() -> str:
    """``host-pid-random``: readable in ``digestbot status``, unique across restarts."""
    host = socket.gethostname().split(".", 1)[0][:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


class OutcomeQueue(Protocol):
    """Where the broadcaster keeps outcomes not written yet (loop thread only)."""

    def take(self) -> list[Outcome]: ...

    def restore(self, outcomes: list[Outcome]) -> None: ...


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
        outcomes: OutcomeQueue | None = None,
    ) -> None:
        self.engine = engine
        self.owner = owner
        self.lease = lease
        self._now = now
        self._outcomes = outcomes
        self._waiting: list[tuple[int, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None
        # A thread of its own: each mark delays a granted request, so it must never queue
        # behind digest rendering or outcome writes in the shared default executor.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mark-sending")
        self.commits = 0

    async def mark(self, delivery_id: int) -> None:
        """Return once the row is committed as ``sending``; ``LeaseLost`` if it is not ours."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((delivery_id, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_groups(), name="mark-sending")
        # Not shielded: a cancelled waiter cancels its future, which the writer then skips
        # (the row may still be committed ``sending``; the give-back that follows the
        # cancellation is written after it and returns the row to pending).
        if not await future:
            raise LeaseLost(f"delivery {delivery_id} was recovered by another instance")

    async def drain(self) -> None:
        """Wait for marks already on their way to the database (before writing give-backs)."""
        writer = self._writer
        if writer is not None and not writer.done():
            await asyncio.wait({writer})

    async def _write_groups(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            outcomes = self._outcomes.take() if self._outcomes is not None else []
            try:
                marked = await asyncio.get_running_loop().run_in_executor(
                    self._thread, self._write, [i for i, _ in group], outcomes
                )
            except SQLAlchemyError as exc:  # handed to every waiter: its request stays unsent
                if self._outcomes is not None:
                    self._outcomes.restore(outcomes)
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for delivery_id, future in group:
                if not future.done():
                    future.set_result(delivery_id in marked)

    def _write(self, ids: list[int], outcomes: list[Outcome]) -> set[int]:
        now = self._now()
        with session_scope(self.engine) as session:
            begin_write(session=session)
            record_outcomes(session=session, outcomes=outcomes, now=now)
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
