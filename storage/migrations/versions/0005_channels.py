"""channels and forum topics: chat.message_thread_id and chat.added_by

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat") as batch:
        batch.add_column(sa.Column("message_thread_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("added_by", sa.BigInteger(), nullable=True))
    op.create_index("ix_chat_added_by", "chat", ["added_by"])


def downgrade() -> None:
    op.drop_index("ix_chat_added_by", table_name="chat")
    with op.batch_alter_table("chat") as batch:
        batch.drop_column("added_by")
        batch.drop_column("message_thread_id")
