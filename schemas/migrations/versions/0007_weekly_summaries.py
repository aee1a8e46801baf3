"""weekly summaries: summaries_published (one per scope and week); obligations by area

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import schemas.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summaries_published",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope_kind", sa.String(), nullable=False),
        sa.Column("scope_id", sa.String(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("week", sa.String(), nullable=False),
        sa.Column("due_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered", sa.JSON(), nullable=False),
        sa.Column("claimed_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope_kind", "scope_id", "week", name="uq_summaries_published_scope"),
    )
    op.create_index("ix_summaries_published_status", "summaries_published", ["status"])
    # The summary counts one Area's obligations by due date, rule and state (13 weeks), and its
    # open ones by owner (workload) and due date (custody limits), from the indexes alone.
    op.create_index("ix_obligations_area_due", "obligations", ["area", "due", "rule", "state"])
    op.create_index(
        "ix_obligations_area_state_due", "obligations", ["area", "state", "due", "owner"]
    )


def downgrade() -> None:
    op.drop_index("ix_obligations_area_state_due", table_name="obligations")
    op.drop_index("ix_obligations_area_due", table_name="obligations")
    op.drop_index("ix_summaries_published_status", table_name="summaries_published")
    op.drop_table("summaries_published")
