"""Partial covering ranking index over live articles (duplicates left out)

Ranking always filters ``duplicate_of IS NULL`` (a story several feeds carry is ranked once),
and ``ix_article_rank`` does not hold ``duplicate_of``: every row of the window cost a table
fetch (PostgreSQL lost its index-only scan; SQLite its covering index). ``ix_article_rank_live``
holds the same columns for live articles only, so the window is read from the index alone on
both backends (``duplicate_of`` itself is a column too, always NULL: SQLite 3.40 calls an index
covering only when it holds every column the query names, its WHERE's included).

``ix_article_duplicate_of`` keeps only duplicates (``IS NOT NULL``; "also covered by" asks
``duplicate_of IN (...)``, which implies it). Holding every NULL, it let SQLite answer the
ranking's ``duplicate_of IS NULL`` from it once ANALYZE had counted the NULLs as distinct values
(about 40 rows expected per value): a walk over the whole table instead of the window.
``ix_article_rank`` stays for queries that do not filter duplicates (``latest_article_ids``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("duplicate_of IS NULL")
DUPLICATES = sa.text("duplicate_of IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_article_duplicate_of", table_name="article")
    op.create_index(
        "ix_article_duplicate_of",
        "article",
        ["duplicate_of"],
        unique=False,
        sqlite_where=DUPLICATES,
        postgresql_where=DUPLICATES,
    )
    op.create_index(
        "ix_article_rank_live",
        "article",
        ["published_at", "hot", "quality", "impact", "id", "duplicate_of"],
        unique=False,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_article_rank_live", table_name="article")
    op.drop_index("ix_article_duplicate_of", table_name="article")
    op.create_index("ix_article_duplicate_of", "article", ["duplicate_of"], unique=False)
