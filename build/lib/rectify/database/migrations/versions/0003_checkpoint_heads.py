"""checkpoint heads

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:00:00.000000

The chain heads each checkpoint sealed move from files under data_dir/checkpoints into the
database. Those files are no longer read: the newest existing checkpoint gets, as its heads,
every chain's head among the events it covers as they are at upgrade, so that later checkpoints
can list only the chains that moved.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate writes AutoString)
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEAL_NEWEST = """
INSERT INTO checkpoint_heads (checkpoint_id, hazard_id, hazard_seq, head_hash)
SELECT newest.id, e.hazard_id, e.hazard_seq, e.hash
FROM (SELECT id, max_seq FROM checkpoints ORDER BY id DESC LIMIT 1) AS newest
JOIN (
    SELECT hazard_id, MAX(hazard_seq) AS top FROM events
    WHERE seq <= (SELECT max_seq FROM checkpoints ORDER BY id DESC LIMIT 1)
    GROUP BY hazard_id
) AS last ON 1 = 1
JOIN events AS e ON e.hazard_id = last.hazard_id AND e.hazard_seq = last.top
"""


def upgrade() -> None:
    op.create_table(
        "checkpoint_heads",
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("hazard_seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("checkpoint_id", "hazard_id"),
    )
    op.execute(SEAL_NEWEST)


def downgrade() -> None:
    op.drop_table("checkpoint_heads")
