"""obligations: drop the single-column rule and area indexes. Every query that reads by rule or
by area is served by a newer composite index that starts with it ((rule, key), (rule, state,
due), (area, due, rule, state), (area, state, due, owner)), and each index is one more write for
every obligation the consumer opens or changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_index("ix_obligations_rule")
        batch_op.drop_index("ix_obligations_area")


def downgrade() -> None:
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.create_index("ix_obligations_rule", ["rule"], unique=False)
        batch_op.create_index("ix_obligations_area", ["area"], unique=False)
