"""hazard discovery and closing times, recurrence link, statistics index

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-02 01:00:00.000000

Statistics (rectify.statistics) count hazards by discovery date and by how long they took to
close; repeat hazards (重复隐患) link to the one they repeat. Hazards gain:
- `discovered_at`: when the hazard was found (the report's time, or the date an imported
  ledger row names); existing rows get their `created_at`;
- `rectified_at`: when the enterprise last confirmed the rectification (`confirm_rectified`);
- `closed_at`: when the hazard reached a final state (closed or dismissed);
- `recurrence_of`: the hazard this one repeats or duplicates.
Existing rows take rectified_at and closed_at from their history (events). An index on
(region_code, discovered_at) lets a region's statistics over a period read only its rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_hazards_region_discovered"


def upgrade() -> None:
    with op.batch_alter_table("hazards") as batch:
        batch.add_column(sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rectified_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("recurrence_of", sa.Integer(), nullable=True))
        batch.create_index("ix_hazards_recurrence_of", ["recurrence_of"])
        batch.create_index(INDEX, ["region_code", "discovered_at"])
    op.execute("UPDATE hazards SET discovered_at = created_at")
    op.execute(
        "UPDATE hazards SET rectified_at = (SELECT max(e.at) FROM events e "
        "WHERE e.hazard_id = hazards.id AND e.trigger = 'confirm_rectified')"
    )
    op.execute(
        "UPDATE hazards SET closed_at = (SELECT max(e.at) FROM events e "
        "WHERE e.hazard_id = hazards.id AND e.trigger IN ('close', 'dismiss', 'self_close', "
        "'order_closure', 'decide_closure')) WHERE state IN ('closed', 'dismissed')"
    )


def downgrade() -> None:
    with op.batch_alter_table("hazards") as batch:
        batch.drop_index(INDEX)
        batch.drop_index("ix_hazards_recurrence_of")
        for name in ("recurrence_of", "closed_at", "rectified_at", "discovered_at"):
            batch.drop_column(name)
