"""documents (执法文书) and their number counters

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 10:00:00.000000

Each enforcement step that issues a document writes a pending row (number, snapshot) in its own
transaction; the rendered PDF's SHA-256 and its service (送达) are added later. Numbers come
from one counter row per office, kind and year, moved in the issuing transaction.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate writes AutoString)
from alembic import op

import rectify.database.core  # noqa: F401  (UTCDateTime columns)

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, rectify.database.core.UTCDateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "document_counters",
        _text("office", 20),
        _text("kind", 40),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("office", "kind", "year"),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        _text("kind", 40),
        _text("office", 20),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        _text("number", 200),
        _text("trigger", 40),
        sa.Column("hazard_seq", sa.Integer(), nullable=False),
        _time("issued_at", nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        _text("status", 10),
        _text("sha256", 64, nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        _time("rendered_at"),
        sa.Column("issued_seq", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        _text("last_error", 500, nullable=True),
        _time("served_at"),
        _text("served_method", 20, nullable=True),
        _text("served_recipient", 1000, nullable=True),
        sa.Column("served_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["hazard_id"], ["hazards.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office", "kind", "year", "seq"),
    )
    op.create_index(op.f("ix_documents_hazard_id"), "documents", ["hazard_id"], unique=False)
    op.create_index(op.f("ix_documents_status"), "documents", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_documents_status"), table_name="documents")
    op.drop_index(op.f("ix_documents_hazard_id"), table_name="documents")
    op.drop_table("documents")
    op.drop_table("document_counters")
