"""Polling DIGESTBOT_FEEDS: conditional GET, error backoff, import through ``bot.content.importer``.

``poll_feeds`` is synchronous (httpx + SQLAlchemy); the scheduler calls ``poll_feeds_async``,
which runs it in a worker thread so the bot's event loop never blocks on a slow feed.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Literal

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.content.formats import read_stream
from bot.content.importer import (
    ImportCounts,
    import_records,
    is_url,
    make_http_client,
    read_limited,
)
from bot.content.records import SourceError
from storage.db import session_scope
from storage.feeds import feed_state, save_feed_state
from storage.models import FeedState

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=24)
MAX_ERROR_CHARS = 500

FeedStatus = Literal["fetched", "not-modified", "skipped", "failed"]

__all__ = [
    "FeedOutcome",
    "backoff_delay",
    "make_http_client",
    "poll_feed",
    "poll_feeds",
    "poll_feeds_async",
    "run_fetch",
]


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    url: str
    status: FeedStatus
    counts: ImportCounts | None = None
    error: str | None = None
    retry_at: datetime | None = None
    failures: int = 0


@dataclass(frozen=True, slots=True)
class _Fetched:
    body: bytes | None  # None: not modified since the validators we sent
    etag: str | None
    last_modified: str | None


class FeedError(Exception):
    """This poll of a feed failed; it is retried after a backoff."""


def backoff_delay(interval_seconds: int, failures: int) -> timedelta:
    """``interval * 2**failures``, capped at 24 hours."""
    if failures >= 32:  # 2**32 intervals is far beyond the cap; avoid huge integers
        return MAX_BACKOFF
    return min(timedelta(seconds=interval_seconds * 2**failures), MAX_BACKOFF)


def _fetch_http(client: httpx.Client, url: str, state: FeedState) -> _Fetched:
    headers: dict[str, str] = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == httpx.codes.NOT_MODIFIED:
                return _Fetched(None, state.etag, state.last_modified)
            if response.status_code != httpx.codes.OK:
                raise FeedError(f"HTTP {response.status_code} {response.reason_phrase}")
            body = read_limited(response)
            return _Fetched(
                body, response.headers.get("ETag"), response.headers.get("Last-Modified")
            )
    except httpx.HTTPError as exc:
        raise FeedError(f"{type(exc).__name__}: {exc}") from None
    except SourceError as exc:
        raise FeedError(str(exc)) from None


def _fetch_file(path: Path, state: FeedState) -> _Fetched:
    # A local file's modification time plays the part of Last-Modified.
    try:
        stamp = str(path.stat().st_mtime_ns)
        if state.last_modified == stamp:
            return _Fetched(None, None, stamp)
        return _Fetched(path.read_bytes(), None, stamp)
    except OSError as exc:
        raise FeedError(f"cannot read: {exc.strerror or exc}") from None


def poll_feed(
    engine: Engine,
    url: str,
    *,
    client: httpx.Client,
    now: datetime,
    interval_seconds: int,
    err: IO[str],
) -> FeedOutcome:
    """Poll one feed (URL or local path) unless it is backing off; import what is new."""
    with session_scope(engine) as session:
        state = feed_state(session=session, url=url)
    if state.retry_at is not None and now < state.retry_at:
        return FeedOutcome(
            url, "skipped", retry_at=state.retry_at, failures=state.failures, error=state.last_error
        )

    counts: ImportCounts | None = None
    try:
        fetched = _fetch_http(client, url, state) if is_url(url) else _fetch_file(Path(url), state)
        if fetched.body is not None:
            counts = ImportCounts()
            records = read_stream(io.BytesIO(fetched.body), url, now=now)
            try:
                import_records(engine, records, now=now, err=err, counts=counts)
            except SourceError as exc:
                raise FeedError(str(exc)) from None
    except FeedError as exc:
        state.failures += 1
        state.retry_at = now + backoff_delay(interval_seconds, state.failures)
        state.last_error = str(exc)[:MAX_ERROR_CHARS]
        state.last_fetched_at = now
        _save(engine, state)
        log.warning("feed %s failed (%d in a row): %s", url, state.failures, exc)
        return FeedOutcome(
            url,
            "failed",
            counts=counts,
            error=state.last_error,
            retry_at=state.retry_at,
            failures=state.failures,
        )

    state.etag, state.last_modified = fetched.etag, fetched.last_modified
    state.failures, state.retry_at, state.last_error = 0, None, None
    state.last_fetched_at = now
    _save(engine, state)
    if counts is None:
        return FeedOutcome(url, "not-modified")
    return FeedOutcome(url, "fetched", counts=counts)


def _save(engine: Engine, state: FeedState) -> None:
    try:
        with session_scope(engine) as session:
            save_feed_state(session=session, state=state)
    except SQLAlchemyError:
        # Losing one poll's validators only costs a full download next time.
        log.exception("could not save the state of feed %s", state.url)


class _LogLines(io.StringIO):
    """An ``err`` stream for unattended polls: each rejected record becomes a log warning."""

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                log.warning("rejected feed entry %s", line)
        return len(text)


def poll_feeds(
    engine: Engine,
    settings: Settings,
    *,
    client: httpx.Client,
    now: datetime | None = None,
    err: IO[str] | None = None,
) -> list[FeedOutcome]:
    """Poll every feed in ``settings.feeds`` once, in order; one feed's failure spares the rest."""
    now = now or datetime.now(UTC)
    stream = err if err is not None else _LogLines()
    return [
        poll_feed(
            engine,
            url,
            client=client,
            now=now,
            interval_seconds=settings.feed_interval,
            err=stream,
        )
        for url in settings.feeds
    ]


async def poll_feeds_async(
    engine: Engine,
    settings: Settings,
    *,
    client: httpx.Client,
    now: datetime | None = None,
) -> list[FeedOutcome]:
    """``poll_feeds`` in a worker thread, for the scheduler's job every DIGESTBOT_FEED_INTERVAL."""
    return await asyncio.to_thread(poll_feeds, engine, settings, client=client, now=now)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "?"


def run_fetch(
    engine: Engine,
    settings: Settings,
    *,
    out: IO[str],
    err: IO[str],
    client: httpx.Client | None = None,
    now: datetime | None = None,
) -> int:
    """``digestbot fetch``: 0 all fine, 1 a feed failed or entries were rejected, 2 no feeds."""
    if not settings.feeds:
        err.write("digestbot: no feeds configured; set DIGESTBOT_FEEDS (URLs or paths)\n")
        return 2
    own = client is None
    http = client or make_http_client()
    try:
        outcomes = poll_feeds(engine, settings, client=http, now=now, err=err)
    finally:
        if own:
            http.close()
    total = ImportCounts()
    failed = False
    for outcome in outcomes:
        if outcome.counts is not None:
            for name in ("imported", "updated", "unchanged", "rejected"):
                setattr(total, name, getattr(total, name) + getattr(outcome.counts, name))
        if outcome.status == "fetched" and outcome.counts is not None:
            out.write(f"{outcome.url}: {outcome.counts.summary()}\n")
        elif outcome.status == "not-modified":
            out.write(f"{outcome.url}: not modified\n")
        elif outcome.status == "skipped":
            out.write(
                f"{outcome.url}: skipped, backing off until {_when(outcome.retry_at)} "
                f"after {outcome.failures} failure(s): {outcome.error}\n"
            )
        else:
            failed = True
            err.write(
                f"{outcome.url}: failed: {outcome.error} "
                f"(attempt {outcome.failures}, next try {_when(outcome.retry_at)})\n"
            )
    out.write(total.summary() + "\n")
    return 1 if failed or total.rejected else 0
