"""backfill_files: `followup backfill`'s durable cursor per input file (docs/contract.md
section 6, "Added: backfill").

Revision ID: 0016_backfill_files
Revises: 0015_audit_checkpoints
Create Date: 2026-12-03 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import schemas.types

revision: str = "0016_backfill_files"
down_revision: str | None = "0015_audit_checkpoints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backfill_files",
        sa.Column("file_key", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("lines_done", sa.BigInteger(), nullable=False),
        sa.Column("byte_offset", sa.BigInteger(), nullable=False),
        sa.Column("loaded", sa.BigInteger(), nullable=False),
        sa.Column("duplicates", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("started_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", schemas.types.AwareDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", schemas.types.AwareDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("file_key"),
    )


def downgrade() -> None:
    op.drop_table("backfill_files")
