"""Importing articles: ``read_source`` (file, ``-`` for stdin, http(s) URL), ``import_records``
(validated upserts in batches), ``run_import`` (the ``digestbot import`` command).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.config import Settings
from bot.content.formats import JSONL_SUFFIXES, read_stream
from bot.content.records import RawRecord, RecordError, SourceError, validate_record
from storage.articles import ArticleData, UpsertResult, upsert_article
from storage.db import session_scope

BATCH_SIZE = 500
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
HTTP_TIMEOUT_SECONDS = 20.0
USER_AGENT = "digestbot/0.1 (AI news digest bot; +https://github.com/digestbot)"


def read_limited(response: httpx.Response, limit: int = MAX_DOWNLOAD_BYTES) -> bytes:
    """The body of a streamed response, refusing to hold more than ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise SourceError(f"response is larger than {limit // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def make_http_client() -> httpx.Client:
    return httpx.Client(
        timeout=HTTP_TIMEOUT_SECONDS, headers={"User-Agent": USER_AGENT}, follow_redirects=True
    )


def download(client: httpx.Client, url: str) -> bytes:
    try:
        with client.stream("GET", url) as response:
            if response.status_code != httpx.codes.OK:
                raise SourceError(f"HTTP {response.status_code} {response.reason_phrase}")
            return read_limited(response)
    except httpx.HTTPError as exc:
        raise SourceError(f"cannot fetch: {exc or type(exc).__name__}") from None


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def read_source(
    source: str,
    *,
    now: datetime,
    stdin: IO[bytes],
    client: Callable[[], httpx.Client],
) -> Iterator[RawRecord]:
    """Records of a path, ``-`` (stdin) or an http(s) URL; raises ``SourceError``."""
    if source == "-":
        yield from read_stream(stdin, "<stdin>", now=now)
        return
    if is_url(source):
        data = download(client(), source)
        yield from read_stream(io.BytesIO(data), source, now=now)
        return
    path = Path(source)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    with stream:
        try:
            yield from read_stream(
                stream, source, now=now, jsonl=path.suffix.lower() in JSONL_SUFFIXES
            )
        except OSError as exc:
            raise SourceError(f"cannot read: {exc.strerror or exc}") from None


# --- importing ------------------------------------------------------------------------------


@dataclass(slots=True)
class ImportCounts:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def add(self, result: UpsertResult) -> None:
        setattr(self, result, getattr(self, result) + 1)

    def summary(self) -> str:
        return (
            f"imported {self.imported}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {self.rejected}"
        )


def _reject(counts: ImportCounts, err: IO[str], location: str, reason: str) -> None:
    counts.rejected += 1
    err.write(f"{location}: {reason}\n")


def _store_batch(
    engine: Engine, batch: list[tuple[str, ArticleData]], counts: ImportCounts, err: IO[str]
) -> None:
    try:
        with session_scope(engine) as session:
            results = [upsert_article(session=session, data=data) for _, data in batch]
    except SQLAlchemyError:
        # Replay one record per transaction so a bad record costs only itself.
        for location, data in batch:
            try:
                with session_scope(engine) as session:
                    result = upsert_article(session=session, data=data)
            except OperationalError:
                # The database itself fails (disk full, read-only, I/O error, gone): no other
                # record can be stored either. Stop at the first; the caller names it once.
                raise
            except SQLAlchemyError as exc:
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                _reject(counts, err, location, f"database error: {reason}")
            else:
                counts.add(result)
        return
    for result in results:
        counts.add(result)


def import_records(
    engine: Engine,
    records: Iterable[RawRecord],
    *,
    now: datetime,
    err: IO[str],
    counts: ImportCounts,
    batch_size: int = BATCH_SIZE,
) -> None:
    """Validate and upsert ``records``, committing every ``batch_size``; rejects go to ``err``."""
    batch: list[tuple[str, ArticleData]] = []
    try:
        for raw in records:
            if raw.error is not None:
                _reject(counts, err, raw.location, raw.error)
                continue
            try:
                data = validate_record(
                    raw.value, now=now, published_at_estimated=raw.published_at_estimated
                )
            except RecordError as exc:
                _reject(counts, err, raw.location, str(exc))
                continue
            batch.append((raw.location, data))
            if len(batch) >= batch_size:
                stored, batch = batch, []
                _store_batch(engine, stored, counts, err)
    finally:
        # Also on a SourceError half-way through: what was read and valid is kept.
        if batch:
            _store_batch(engine, batch, counts, err)


def run_import(
    engine: Engine,
    settings: Settings,
    files: Iterable[str],
    *,
    out: IO[str],
    err: IO[str],
    stdin: IO[bytes] | None = None,
    client: httpx.Client | None = None,
    now: datetime | None = None,
) -> int:
    """``digestbot import``: 0 all imported, 1 some records rejected, 2 a source unreadable."""
    del settings  # nothing to configure yet; kept so every command has the same shape
    now = now or datetime.now(UTC)
    counts = ImportCounts()
    unreadable = False
    own_client: httpx.Client | None = None

    def get_client() -> httpx.Client:
        nonlocal own_client
        if client is not None:
            return client
        if own_client is None:
            own_client = make_http_client()
        return own_client

    try:
        for source in files:
            records = read_source(
                source, now=now, stdin=stdin or sys.stdin.buffer, client=get_client
            )
            try:
                import_records(engine, records, now=now, err=err, counts=counts)
            except SourceError as exc:
                unreadable = True
                err.write(f"{source}: {exc}\n")
    finally:
        if own_client is not None:
            own_client.close()
    out.write(counts.summary() + "\n")
    if unreadable:
        return 2
    return 1 if counts.rejected else 0
