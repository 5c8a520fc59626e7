"""worklist indexes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:00:00.000000

Indexes on hazards for the worklists of the console's landing pages (rectify.hazards.worklists):
each list's count and first page is read from an index range instead of every hazard row.

    ix_hazards_state_deadline       overdue and due soon (state, grade, deadline, id: the
                                    list's order, read per state and grade; region checked in
                                    the index)
    ix_hazards_supervision_region   挂牌督办 (supervision listed)
    ix_hazards_production_region    停产整顿 (production suspended, closure requested)
    ix_hazards_judicial_region      移交司法 (judicial transferred, ...)
    ix_hazards_enterprise_deadline  an enterprise's tasks by deadline
    ix_events_confirmed             when a hazard last asked for verification (partial: only
                                    confirm_rectified events), one seek per waiting hazard
    ix_hazards_extension_pending_*  pending extension requests (partial: only those rows), by
                                    region (offices) and by enterprise (its own)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_hazards_state_deadline": ["state", "grade", "deadline", "id", "region_code"],
    "ix_hazards_supervision_region": ["supervision", "region_code"],
    "ix_hazards_production_region": ["production", "region_code"],
    "ix_hazards_judicial_region": ["judicial", "region_code"],
    "ix_hazards_enterprise_deadline": ["enterprise_id", "deadline"],
}
PENDING = "ix_hazards_extension_pending_"  # + region_code (offices), enterprise_id (its own)
# Written exactly as the worklist's query writes it, so both databases use the partial index.
PENDING_WHERE = sa.text(
    "pending_extension IS NOT NULL AND CAST(pending_extension AS VARCHAR) != 'null'"
)


CONFIRMED = "ix_events_confirmed"
CONFIRMED_WHERE = sa.text("trigger = 'confirm_rectified'")


def upgrade() -> None:
    op.create_index(
        CONFIRMED,
        "events",
        ["hazard_id", "at"],
        sqlite_where=CONFIRMED_WHERE,
        postgresql_where=CONFIRMED_WHERE,
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "hazards", columns)
    for column in ("region_code", "enterprise_id"):
        op.create_index(
            PENDING + column,
            "hazards",
            [column],
            sqlite_where=PENDING_WHERE,
            postgresql_where=PENDING_WHERE,
        )


def downgrade() -> None:
    op.drop_index(CONFIRMED, table_name="events")
    for column in ("region_code", "enterprise_id"):
        op.drop_index(PENDING + column, table_name="hazards")
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="hazards")
