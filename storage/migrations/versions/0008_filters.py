"""chat filters: muted keywords, minimum score, own language only; muted tags

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op



revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_filter",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("min_score", sa.Integer(), nullable=False),
        sa.Column("own_language_only", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["chat_id"], ["chat.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.create_table(
        "chat_muted_tag",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chat.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tag.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("chat_id", "tag_id"),
    )


def downgrade() -> None:
    op.drop_table("chat_muted_tag")
    op.drop_table("chat_filter")
