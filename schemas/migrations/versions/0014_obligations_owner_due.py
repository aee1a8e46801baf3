"""obligations: (owner, due, id) in place of (owner). A team's or unit's obligations are read by
owner in due order (GET /obligations, My team, calendar feeds): with the due date in the index
they are a few thousand index entries and a top-N sort, where the (due, id) index walked the
whole national table's due order filtering by owner (BENCHMARKS.md, "Dashboard").

Revision ID: 0014_obligations_owner_due
Revises: 0013_obligation_ref
Create Date: 2026-12-03 14:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_obligations_owner_due"
down_revision: str | None = "0013_obligation_ref"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_obligations_owner_due", "obligations", ["owner", "due", "id"])
    op.drop_index("ix_obligations_owner", table_name="obligations")


def downgrade() -> None:
    op.create_index("ix_obligations_owner", "obligations", ["owner"])
    op.drop_index("ix_obligations_owner_due", table_name="obligations")
