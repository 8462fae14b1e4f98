"""Alembic environment: the engine comes from the caller (``storage.db.upgrade``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on the metadata)

target_metadata = SQLModel.metadata
_MIGRATION_LOCK = 0x6469676573746D67  # "digestmg": one key for every bot on the database
engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through storage.db.upgrade(engine)")


def include_object(
    obj: object, name: str | None, kind: str, reflected: bool, other: object
) -> bool:
    # Search objects are hand-written in migrations (FTS5 tables, GIN indexes, generated
    # columns; 0002, 0007, 0012): autogenerate must not propose dropping them.
    return not (name or "").startswith(
        (
            "article_fts",
            "ix_article_text_fts",
            "ix_article_text_grams",
            "cjk_grams",
            "search_vector",
        )
    )


with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
    )
    if connection.dialect.name == "postgresql":
        # Several instances may start at once (a rolling deploy): one migrates, the others
        # wait here and then find the schema at head. Released at commit.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    with context.begin_transaction():
        context.run_migrations()
