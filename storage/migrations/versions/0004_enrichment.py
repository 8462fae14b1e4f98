"""the newsroom: enrichment queue, generated fields, LLM usage, embeddings, duplicates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild): rebuilding ``article`` on SQLite would fire the
    # ON DELETE CASCADE of every table referencing it. ``duplicate_of`` has no foreign key
    # for the same reason; the dedup pass clears references to articles that are gone.
    op.add_column(
        "article",
        sa.Column("scores_generated", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("article", sa.Column("duplicate_of", sa.Integer(), nullable=True))
    op.create_index("ix_article_duplicate_of", "article", ["duplicate_of"], unique=False)
    op.add_column(
        "article_tag",
        sa.Column("generated", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "generated_field",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt_version", sa.String(length=32), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id", "lang", "field"),
    )
    op.create_table(
        "enrichment",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("seen_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id"),
    )
    with op.batch_alter_table("enrichment", schema=None) as batch_op:
        batch_op.create_index("ix_enrichment_due", ["state", "next_attempt_at"], unique=False)
    op.create_table(
        "llm_usage",
        sa.Column("day", sa.String(length=16), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("total_tokens", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "article_embedding",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id"),
    )


def downgrade() -> None:
    op.drop_table("article_embedding")
    op.drop_table("llm_usage")
    with op.batch_alter_table("enrichment", schema=None) as batch_op:
        batch_op.drop_index("ix_enrichment_due")
    op.drop_table("enrichment")
    op.drop_table("generated_field")
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), again without rebuilding the tables.
    op.drop_column("article_tag", "generated")
    op.drop_index("ix_article_duplicate_of", table_name="article")
    op.drop_column("article", "duplicate_of")
    op.drop_column("article", "scores_generated")
