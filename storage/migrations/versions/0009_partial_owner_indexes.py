"""partial indexes: ``ix_delivery_owner`` and ``ix_chat_added_by`` hold only non-NULL keys

Every row the planner inserts is unowned, and nearly every chat was added by nobody (only
channels have ``added_by``); the queries on these columns compare with a value, so NULL entries
were never read, yet each planned row wrote one and, on PostgreSQL, each chat the planner
advances wrote one more into ``ix_chat_added_by`` (a non-HOT update touches every index).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OWNED = sa.text("owner IS NOT NULL")
_ADDED = sa.text("added_by IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_delivery_owner", table_name="delivery")
    op.create_index(
        "ix_delivery_owner",
        "delivery",
        ["owner", "state"],
        sqlite_where=_OWNED,
        postgresql_where=_OWNED,
    )
    op.drop_index("ix_chat_added_by", table_name="chat")
    op.create_index(
        "ix_chat_added_by", "chat", ["added_by"], sqlite_where=_ADDED, postgresql_where=_ADDED
    )


def downgrade() -> None:
    op.drop_index("ix_chat_added_by", table_name="chat")
    op.create_index("ix_chat_added_by", "chat", ["added_by"])
    op.drop_index("ix_delivery_owner", table_name="delivery")
    op.create_index("ix_delivery_owner", "delivery", ["owner", "state"])
