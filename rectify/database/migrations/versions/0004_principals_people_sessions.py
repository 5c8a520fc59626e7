"""principals: people beside tokens, expiry and revocation times, sign-in sessions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00.000000

A principal is now a token (kind `token`) or a person (kind `user`, with a username and an
argon2id password hash; no token). `revoked` becomes `revoked_at`: a token revoked before this
migration is marked revoked at the migration's time (when it really was is not known).
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate writes AutoString)
from alembic import op

from rectify.database.core import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("principals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", AutoString(length=10), nullable=False, server_default="token")
        )
        batch_op.add_column(sa.Column("display_name", AutoString(), nullable=True))
        batch_op.add_column(sa.Column("certificate_no", AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("username", AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("password_hash", AutoString(), nullable=True))
        for column in ("expires_at", "revoked_at", "last_used_at", "last_failed_at"):
            batch_op.add_column(sa.Column(column, UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("locked_until", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.alter_column("token_hash", existing_type=AutoString(), nullable=True)
        batch_op.create_index(batch_op.f("ix_principals_username"), ["username"], unique=True)

    principals = sa.table(
        "principals",
        sa.column("name", AutoString()),
        sa.column("display_name", AutoString()),
        sa.column("revoked", sa.Boolean()),
        sa.column("revoked_at", UTCDateTime()),
    )
    op.execute(principals.update().values(display_name=principals.c.name))
    op.execute(
        principals.update()
        .where(principals.c.revoked == sa.true())
        .values(revoked_at=datetime.now(UTC))
    )
    with op.batch_alter_table("principals", schema=None) as batch_op:
        batch_op.alter_column("display_name", existing_type=AutoString(), nullable=False)
        batch_op.drop_column("revoked")

    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", AutoString(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["principal_id"], ["principals.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_sessions_principal_id"), ["principal_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_login_sessions_token_hash"), ["token_hash"], unique=True
        )


def downgrade() -> None:
    op.drop_table("login_sessions")
    with op.batch_alter_table("principals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # People have no token: they become revoked principals with an unusable token hash.
    op.execute(
        "UPDATE principals SET revoked = (revoked_at IS NOT NULL OR kind = 'user'), "
        "token_hash = COALESCE(token_hash, 'no-token:' || CAST(id AS VARCHAR(20)))"
    )
    with op.batch_alter_table("principals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_principals_username"))
        batch_op.alter_column("token_hash", existing_type=AutoString(), nullable=False)
        for column in (
            "kind",
            "display_name",
            "certificate_no",
            "username",
            "password_hash",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "last_failed_at",
            "locked_until",
            "failed_logins",
        ):
            batch_op.drop_column(column)
