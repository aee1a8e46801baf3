"""The people's API: GET /obligations pages by (due, id) and GET /alerts newest first within a
recipient's or an Area's scope, each read by key from an index.

Revision ID: 0012_api_indexes
Revises: 0011_access
Create Date: 2026-12-10 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_api_indexes"
down_revision: str | None = "0011_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_obligations_due_id", "obligations", ["due", "id"])
    op.create_index("ix_alerts_recipient_id", "alerts", ["recipient", "id"])
    op.create_index("ix_alerts_area_id", "alerts", ["area", "id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_area_id", table_name="alerts")
    op.drop_index("ix_alerts_recipient_id", table_name="alerts")
    op.drop_index("ix_obligations_due_id", table_name="obligations")
