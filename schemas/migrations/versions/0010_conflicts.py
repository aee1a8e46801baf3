"""dead_letters: conflicting duplicates, an event with the (source, id) of a stored one and
other content, are kept as dead letters of origin "conflict" with the stored content beside
the received one (`stored`), looked up by (event_source, event_id).

Revision ID: 0010_conflicts
Revises: 0009
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_conflicts"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stored", sa.Text(), nullable=True))
        batch_op.create_index("ix_dead_letters_event", ["event_source", "event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index("ix_dead_letters_event")
        batch_op.drop_column("stored")
