"""Waiting for the bot: conditions over the fake's state, re-checked on every change."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

from .models import CallbackQueryRecord, FakeMessage, InlineQueryRecord
from .store import ChatRef, ChatStore

T = TypeVar("T")
Query = TypeVar("Query", CallbackQueryRecord, InlineQueryRecord)


class Waiting(ChatStore):
    """``wait_for``/``next_bot_message``: what tests await instead of sleeping."""

    async def wait_for(
        self,
        condition: Callable[[], T | None] | int,
        *,
        chat: ChatRef | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> T | list[FakeMessage]:
        """Wait until ``condition()`` is truthy (returns its value), or, given an int N and
        ``chat``, until the bot has sent at least N messages there (returns them)."""
        if isinstance(condition, int):
            if chat is None:
                raise ValueError("wait_for(count) needs chat=")
            count, target = condition, self._chat(chat).id

            def enough() -> list[FakeMessage] | None:
                sent = self.bot_messages(target)
                return sent if len(sent) >= count else None

            return await self._wait(enough, timeout, f"{count} bot message(s) in chat {target}")
        return await self._wait(condition, timeout, "condition")

    async def _wait(
        self,
        condition: Callable[[], T | None],
        timeout: float,  # noqa: ASYNC109
        what: str,
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            value = condition()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}{self._hint()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _hint(self) -> str:
        failures = [r for r in self.requests if r.status != 200][-3:]
        lines = [f"{r.method} -> {r.status} {r.description}" for r in failures]
        return ("; recent failed API calls: " + " | ".join(lines)) if lines else ""

    async def next_bot_messages(
        self,
        chat: ChatRef,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[FakeMessage]:
        """The bot's next ``count`` messages in ``chat`` not yet returned by this method."""
        target = self._chat(chat).id

        def ready() -> list[FakeMessage] | None:
            sent = [m for m in self._messages.get(target, []) if m.from_bot]
            start = self._cursor.get(target, 0)
            return sent[start : start + count] if len(sent) - start >= count else None

        found = await self._wait(ready, timeout, f"{count} new bot message(s) in chat {target}")
        self._cursor[target] = self._cursor.get(target, 0) + count
        return found

    async def next_bot_message(self, chat: ChatRef, *, timeout: float = 5.0) -> FakeMessage:  # noqa: ASYNC109
        return (await self.next_bot_messages(chat, 1, timeout=timeout))[0]

    async def wait_for_callback_answer(
        self,
        query_id: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackQueryRecord:
        return await self._wait_answered(self.callback_queries[query_id], timeout)

    async def wait_for_inline_answer(
        self,
        query_id: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InlineQueryRecord:
        return await self._wait_answered(self.inline_queries[query_id], timeout)

    async def _wait_answered(self, record: Query, timeout: float) -> Query:  # noqa: ASYNC109
        return await self._wait(
            lambda: record if record.answered else None, timeout, f"answer to {record.id}"
        )
