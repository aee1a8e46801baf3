"""obligations.ref: the `ob-` reference emails, pages and calendar feeds name an obligation by
(docs/contract.md section 7), stored and indexed so that a reference from an email is found
without hashing every obligation id in scope (HQ's scope is every Area).

Revision ID: 0013_obligation_ref
Revises: 0012_api_indexes
Create Date: 2026-12-04 09:00:00
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_obligation_ref"
down_revision: str | None = "0012_api_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAGE = 5000


def upgrade() -> None:
    op.add_column("obligations", sa.Column("ref", sa.String(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # In the database: no round trip per row for millions of rows.
        op.execute(
            "UPDATE obligations SET ref = 'ob-' || "
            "substr(encode(sha256(convert_to(id, 'UTF8')), 'hex'), 1, 16)"
        )
    else:
        _fill_in_python(bind)
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.alter_column("ref", existing_type=sa.String(), nullable=False)
        batch_op.create_index("ix_obligations_ref", ["ref"], unique=False)


def _fill_in_python(bind: sa.engine.Connection) -> None:
    """services.rules.model.obligation_ref, repeated: a migration stays as it was written."""
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM obligations"))]
    update = sa.text("UPDATE obligations SET ref = :ref WHERE id = :id")
    for start in range(0, len(ids), _PAGE):
        page = ids[start : start + _PAGE]
        bind.execute(
            update,
            [{"id": i, "ref": "ob-" + hashlib.sha256(i.encode()).hexdigest()[:16]} for i in page],
        )


def downgrade() -> None:
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_index("ix_obligations_ref")
        batch_op.drop_column("ref")
