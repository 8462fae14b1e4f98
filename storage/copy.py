"""Copy every table from one database into another, empty one (SQLite → PostgreSQL).

Both databases must be migrated to the same revision first. The copy reads the source in one
transaction (one consistent snapshot), writes the target in one transaction, compares every
table's row count before committing, and moves PostgreSQL's id sequences past the copied ids
so the next insert does not collide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Integer, Table, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table on SQLModel.metadata)

BATCH = 1_000


class CopyRefused(Exception):
    """The target cannot receive the copy (not empty, other revision); one line says why."""


@dataclass(frozen=True, slots=True)
class TableCopy:
    name: str
    rows: int


def tables() -> list[Table]:
    """Every table the models define, parents before children."""
    return list(SQLModel.metadata.sorted_tables)


def _count(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def non_empty_table(engine: Engine) -> tuple[str, int] | None:
    """The first table of ``engine`` that holds rows, or None when every table is empty."""
    with engine.connect() as connection:
        for table in tables():
            rows = _count(connection, table)
            if rows:
                return table.name, rows
    return None


def _serial_column(table: Table) -> str | None:
    """The integer primary key a PostgreSQL sequence feeds, if any."""
    keys = list(table.primary_key.columns)
    if len(keys) != 1 or not isinstance(keys[0].type, Integer):
        return None
    return keys[0].name if keys[0].autoincrement in (True, "auto") else None


def reset_sequences(connection: Connection) -> None:
    """PostgreSQL: the next generated id follows the largest copied one."""
    if connection.dialect.name != "postgresql":
        return  # SQLite takes max(rowid) + 1 by itself
    for table in tables():
        column = _serial_column(table)
        if column is None:
            continue
        connection.execute(
            text(
                "SELECT setval(pg_get_serial_sequence(:table, :column), "
                f'COALESCE(MAX("{column}"), 1), MAX("{column}") IS NOT NULL) FROM "{table.name}"'
            ),
            {"table": table.name, "column": column},
        )


def copy_all(
    *, source: Engine, target: Engine, progress: Callable[[TableCopy], None] | None = None
) -> list[TableCopy]:
    """Copy every row; raises ``CopyRefused`` when the target holds rows already."""
    found = non_empty_table(target)
    if found is not None:
        name, rows = found
        raise CopyRefused(f"the target database is not empty (table {name} has {rows} rows)")
    copied: list[TableCopy] = []
    with source.connect() as reader, reader.begin(), target.begin() as writer:
        for table in tables():
            expected = _count(reader, table)
            order = list(table.primary_key.columns)
            result = reader.execution_options(yield_per=BATCH).execute(
                select(table).order_by(*order)
            )
            for batch in result.mappings().partitions(BATCH):
                writer.execute(table.insert(), [dict(row) for row in batch])
            got = _count(writer, table)
            if got != expected:  # rolled back with the whole transaction
                raise CopyRefused(f"table {table.name}: copied {got} rows of {expected}")
            copied.append(TableCopy(table.name, got))
            if progress is not None:
                progress(copied[-1])
        reset_sequences(writer)
    return copied
