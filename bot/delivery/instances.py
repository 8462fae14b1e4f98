"""This process among the others: registry row, heartbeats and the leader election.

Every ``heartbeat_interval`` seconds the coordinator, in a worker thread, renews its row in
``bot_instance`` (id, host, pid, roles, heartbeat), and either checks that it still holds the
leader lock or tries to take it (``bot.delivery.election``). Gaining or losing the lock calls
``on_leader(True/False)``: the app then starts or stops long polling and the broadcast.

Why one leader for polling *and* sending: every request the bot makes then leaves one process
through one rate limiter, so there is one budget per bot token and replies keep their priority
over the broadcast. In webhook mode every instance answers the updates it is given and only the
leader broadcasts; ``webhook_share`` splits the one rate budget between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.delivery.election import LeaderLock
from storage import instances
from storage.db import session_scope
from storage.types import utcnow

_LOGGER = logging.getLogger(__name__)

# Rows of instances silent for this long are deleted (a crash stays visible until then).
FORGET_AFTER = timedelta(days=1)


def webhook_share(overall: float, reserve: float, *, leader: bool, live: int) -> float:
    """This webhook instance's share of the bot's overall rate (messages/s).

    The leader broadcasts with the overall rate less ``reserve``; the other live instances
    answer updates within ``reserve``, split equally. Alone, an instance has all of it.
    """
    others = max(0, live - 1)  # live instances besides the leader
    if others == 0:
        return overall
    return overall - reserve if leader else reserve / others


def alive_since(now: datetime, heartbeat_interval: float) -> datetime:
    """Instances whose heartbeat is newer than this count as alive (three missed beats)."""
    return now - timedelta(seconds=3 * heartbeat_interval)


class Coordinator:
    """Registers this instance, keeps its heartbeat and runs the leader election."""

    def __init__(
        self,
        *,
        engine: Engine,
        lock: LeaderLock,
        instance_id: str,
        mode: str,
        interval: float,
        on_leader: Callable[[bool], Awaitable[None]],
        clock: Callable[[], datetime] = utcnow,
        on_peers: Callable[[int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.lock = lock
        self.instance_id = instance_id
        self.mode = mode  # "polling" or "webhook"
        self.interval = interval
        self._on_leader = on_leader
        self._on_peers = on_peers  # called with the number of live instances (this one too)
        self._clock = clock
        self.leader = False
        self._task: asyncio.Task[None] | None = None
        self._registered = False

    @property
    def roles(self) -> tuple[str, ...]:
        if self.mode == "webhook":
            return ("webhook", "sender") if self.leader else ("webhook",)
        return ("poller", "sender") if self.leader else ()

    async def start(self) -> None:
        await asyncio.to_thread(self._register)
        await self.tick()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="coordinator")

    async def stop(self) -> None:
        """Step down (``on_leader(False)`` runs first), release the lock, unregister."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.leader:
            self.leader = False
            await self._on_leader(False)
        await asyncio.to_thread(self._release)

    async def tick(self) -> None:
        """One heartbeat: keep or try the lock, report roles; act on a change of leadership."""
        held = await asyncio.to_thread(self.lock.check if self.lock.held else self.lock.try_acquire)
        if held != self.leader:
            self.leader = held
            if held:
                _LOGGER.info("instance %s is now the leader (%s)", self.instance_id, self.roles)
            else:
                _LOGGER.warning("instance %s is no longer the leader", self.instance_id)
            await self._on_leader(held)
        live = await asyncio.to_thread(self._heartbeat)
        if self._on_peers is not None:
            self._on_peers(live)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except SQLAlchemyError as exc:
                _LOGGER.warning("heartbeat failed (%s); retrying", type(exc).__name__)

    # --- database (worker threads) ------------------------------------------------------

    def _register(self) -> None:
        now = self._clock()
        with session_scope(self.engine) as session:
            instances.register(
                session=session,
                instance_id=self.instance_id,
                host=socket.gethostname(),
                pid=os.getpid(),
                mode=self.mode,
                now=now,
            )
        self._registered = True

    def _heartbeat(self) -> int:
        """Beat; the number of live instances (this one included)."""
        now = self._clock()
        with session_scope(self.engine) as session:
            found = instances.heartbeat(
                session=session, instance_id=self.instance_id, roles=self.roles, now=now
            )
            instances.prune(session=session, before=now - FORGET_AFTER)
            live = instances.instances(session=session, since=alive_since(now, self.interval))
        if not found:  # pruned while we were frozen (SIGSTOP, a suspended VM): come back
            self._register()
        return max(1, len(live))

    def _release(self) -> None:
        self.lock.release()
        if self._registered:
            with session_scope(self.engine) as session:
                instances.unregister(session=session, instance_id=self.instance_id)
            self._registered = False
