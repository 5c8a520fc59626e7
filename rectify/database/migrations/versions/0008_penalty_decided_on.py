"""penalty decided_on, hazard self_managed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:00:00.000000

安全生产法第一百一十三条 counts penalties by the date of their decision: penalties gain
`decided_on`. Rows recorded before get the China date of their `at` (the day they were
recorded, the best the data say). Hazards gain `self_managed` (the self-check path of workflow
v2), false for every hazard so far.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHINA = timezone(timedelta(hours=8))


def upgrade() -> None:
    with op.batch_alter_table("hazards") as batch:
        batch.add_column(
            sa.Column("self_managed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("penalties") as batch:
        batch.add_column(sa.Column("decided_on", sa.Date(), nullable=True))
        batch.create_index("ix_penalties_decided_on", ["decided_on"])
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, at FROM penalties")).all()
    for penalty_id, at in rows:
        if isinstance(at, str):  # SQLite hands back text through raw SQL
            at = datetime.fromisoformat(at)
        moment = at if at.tzinfo else at.replace(tzinfo=UTC)
        day = moment.astimezone(CHINA).date()
        conn.execute(
            sa.text("UPDATE penalties SET decided_on = :d WHERE id = :i"),
            {"d": day, "i": penalty_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("hazards") as batch:
        batch.drop_column("self_managed")
    with op.batch_alter_table("penalties") as batch:
        batch.drop_index("ix_penalties_decided_on")
        batch.drop_column("decided_on")
