"""leases: delivery rows carry an owner and a lease; a registry of running instances

``delivery.owner`` is the id of the instance working on a row, ``delivery.lease_until`` how
long that claim holds unless renewed. Rows left in ``sending`` before this revision have no
lease, which counts as expired: the next recovery applies the sending policy to them.

``bot_instance``: one row per running process (id chosen at start, host, pid, roles, last
heartbeat) for ``digestbot status`` and for telling live owners from dead ones.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_delivery_owner", ["owner", "state"], unique=False)
    op.create_table(
        "bot_instance",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("roles", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("bot_instance")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_owner")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("owner")
