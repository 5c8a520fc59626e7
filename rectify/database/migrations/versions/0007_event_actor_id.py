"""event actor id

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:00:00.000000

Every event records the principal that fired it (`actor_id`) beside its display name, so two
principals with the same role and name are two actors in the history. Events written before
have none (NULL), and their canonical bytes do not carry the key: their hashes still hold.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("actor_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("actor_id")
