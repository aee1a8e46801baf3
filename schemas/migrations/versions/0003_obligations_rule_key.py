"""index obligations by (rule, key): the tracker reads a track's obligations in every batch

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.create_index("ix_obligations_rule_key", ["rule", "key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_index("ix_obligations_rule_key")
