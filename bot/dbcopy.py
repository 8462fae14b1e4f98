"""``digestbot db copy --to URL``: move the whole database, e.g. from SQLite to PostgreSQL."""

from __future__ import annotations

from typing import IO

from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.failures import StartupError, bad_url, database_failure, shown_url
from storage.copy import CopyRefused, TableCopy, copy_all
from storage.db import current_revision, make_engine, upgrade


def run_copy(source: Engine, target_url: str, *, out: IO[str]) -> int:
    """Migrate the target, refuse it unless empty, copy, verify; 0 or ``StartupError``."""
    try:
        target = make_engine(target_url)
    except (ArgumentError, ValueError, ImportError) as exc:
        raise StartupError(bad_url(target_url, exc, name="--to")) from None
    try:
        if target.url == source.url:
            raise StartupError("--to names the database being copied; give another one")
        upgrade(target)
        if current_revision(target) != current_revision(source):
            raise StartupError("the target database is at another schema revision")

        def progress(table: TableCopy) -> None:
            out.write(f"{table.name}: {table.rows} rows\n")

        copied = copy_all(source=source, target=target, progress=progress)
    except CopyRefused as exc:
        raise StartupError(f"{exc}; db copy only fills an empty database") from None
    except (SQLAlchemyError, OSError) as exc:
        raise StartupError(database_failure(exc, target_url)) from None
    finally:
        target.dispose()
    total = sum(t.rows for t in copied)
    out.write(
        f"copied {total} rows in {len(copied)} tables to {shown_url(target_url)}; "
        "row counts verified\n"
    )
    return 0
