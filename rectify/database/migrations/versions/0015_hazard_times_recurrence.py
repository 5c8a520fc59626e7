"""hazard discovery and closing times, recurrence link, statistics index

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 01:00:00.000000

Statistics (rectify.statistics) count hazards by discovery date and by how long they took to
close; repeat hazards (重复隐患) link to the one they repeat. Hazards gain:
- `discovered_at`: when the hazard was found (the report's time, or the date an imported
  ledger row names); existing rows get their `created_at`;
- `rectified_at`: when the enterprise last confirmed the rectification (`confirm_rectified`);
- `closed_at`: when the hazard reached a final state (closed or dismissed);
- `seconds_to_close`, `tenths_to_close`: from discovery to closing (closed hazards);
- `recurrence_of`: the hazard this one repeats or duplicates.
Existing rows take rectified_at and closed_at from their history (events). A covering index
holds every column the statistics read, led by the region and the state: a city's figures are
read from the index alone, in order (1,000,000 hazards: bench/case_statistics.py).
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_hazards_statistics"
COLUMNS = [
    "region_code",
    "state",
    "grade",
    "tenths_to_close",
    "deadline",
    "rectified_at",
    "closed_at",
    "recurrence_of",
    "discovered_at",
    "seconds_to_close",
]


def upgrade() -> None:
    with op.batch_alter_table("hazards") as batch:
        batch.add_column(sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rectified_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("seconds_to_close", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tenths_to_close", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("recurrence_of", sa.Integer(), nullable=True))
        batch.create_index("ix_hazards_recurrence_of", ["recurrence_of"])
        batch.create_index(INDEX, COLUMNS)
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
    conn = op.get_bind()
    closed = conn.execute(
        sa.text(
            "SELECT id, discovered_at, closed_at FROM hazards "
            "WHERE state = 'closed' AND closed_at IS NOT NULL"
        )
    ).all()
    for hazard_id, found, ended in closed:
        seconds = max(0, int((_utc(ended) - _utc(found)).total_seconds()))
        conn.execute(
            sa.text("UPDATE hazards SET seconds_to_close = :s, tenths_to_close = :t WHERE id = :i"),
            {"s": seconds, "t": seconds // 8640, "i": hazard_id},
        )


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite hands back text through raw SQL
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def downgrade() -> None:
    with op.batch_alter_table("hazards") as batch:
        batch.drop_index(INDEX)
        batch.drop_index("ix_hazards_recurrence_of")
        for name in (
            "recurrence_of",
            "tenths_to_close",
            "seconds_to_close",
            "closed_at",
            "rectified_at",
            "discovered_at",
        ):
            batch.drop_column(name)
