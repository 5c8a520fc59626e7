"""calendar years, provisional deadlines

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:00:00.000000

Holiday data move from the chinesecalendar package into the database (calendar_years, one row
per published year, filled from config/calendar/ at start-up). Timers and hazards say whether
they were counted with the provisional calendar, and timers keep what recounting needs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate writes AutoString)
from alembic import op

import rectify.database.core  # noqa: F401  (UTCDateTime columns)

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_PROVISIONAL = "provisional AND fired_at IS NULL AND cancelled_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("loaded_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("loaded_at", rectify.database.core.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year"),
        sa.UniqueConstraint("seq"),
    )
    with op.batch_alter_table("timers") as batch:
        batch.add_column(
            sa.Column("provisional", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column(
                "counted_from", rectify.database.core.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_index(
        "ix_timers_pending_provisional",
        "timers",
        ["hazard_id"],
        sqlite_where=sa.text(PENDING_PROVISIONAL),
        postgresql_where=sa.text(PENDING_PROVISIONAL),
    )
    with op.batch_alter_table("hazards") as batch:
        batch.add_column(
            sa.Column(
                "deadline_provisional", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("hazards") as batch:
        batch.drop_column("deadline_provisional")
    op.drop_index("ix_timers_pending_provisional", table_name="timers")
    with op.batch_alter_table("timers") as batch:
        batch.drop_column("rule")
        batch.drop_column("counted_from")
        batch.drop_column("provisional")
    op.drop_table("calendar_years")
