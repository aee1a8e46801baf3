"""Access: staff.left_date (leavers lose access) and credentials (sign-in links, sessions, API
tokens and calendar feeds, each stored as the SHA-256 of its secret).

Revision ID: 0011_access
Revises: 0010_conflicts
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import schemas.types

revision: str = "0011_access"
down_revision: str | None = "0010_conflicts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("left_date", sa.Date(), nullable=True))
    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("secret_hash", sa.String(), nullable=False, unique=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("staff_id", sa.String(), nullable=True),
        sa.Column("system", sa.String(), nullable=True),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("csrf", sa.String(), nullable=True),
        sa.Column("created_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.Column("used_at", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", schemas.types.AwareDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_credentials_staff_id", "credentials", ["staff_id"])


def downgrade() -> None:
    op.drop_index("ix_credentials_staff_id", table_name="credentials")
    op.drop_table("credentials")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("left_date")
