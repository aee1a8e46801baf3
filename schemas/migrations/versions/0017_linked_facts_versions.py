"""linked_facts.version: which write of a link's facts a consumer's in-memory copy is, so a batch
reads them back only when another process (or nobody known) wrote them last, as tracks.version
does for tracks

Revision ID: 0017_linked_facts_versions
Revises: 0016_backfill_files
Create Date: 2026-12-03 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_linked_facts_versions"
down_revision: str | None = "0016_backfill_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("linked_facts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("linked_facts", schema=None) as batch_op:
        batch_op.drop_column("version")
