"""webhook owner, delivery error class

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00.000000

Webhooks belong to the principal that created them (`webhooks.principal_id`); they were matched
by role and name. An existing subscription gets the principal whose role, name and region match
its creator, when exactly one does; otherwise none (then only admins see it).

The delivery log keeps a fixed error class instead of text: `deliveries.last_error` held the
first 200 bytes of a receiver's answer or the OS's error text. It becomes `last_error_class`,
each old text replaced by its class, so nothing a receiver said stays in the database.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNERS = """
UPDATE webhooks SET principal_id = (
    SELECT CASE WHEN COUNT(*) = 1 THEN MIN(p.id) END FROM principals AS p
    WHERE p.role || ':' || p.name = webhooks.created_by
      AND COALESCE(p.region_code, '') = COALESCE(webhooks.region_code, '')
)
"""

# The old texts were "HTTP <code>: <body>" or "<ExceptionName>: <message>".
CLASSES = """
UPDATE deliveries SET last_error = CASE
    WHEN last_error IS NULL THEN NULL
    WHEN last_error = 'subscription deactivated' THEN NULL
    WHEN last_error LIKE 'HTTP 3%' THEN 'http_3xx'
    WHEN last_error LIKE 'HTTP 4%' THEN 'http_4xx'
    WHEN last_error LIKE 'HTTP 5%' THEN 'http_5xx'
    WHEN last_error LIKE '%Timeout%' THEN 'timeout'
    WHEN last_error LIKE '%SSL%' OR last_error LIKE '%CERTIFICATE%' THEN 'tls'
    WHEN last_error LIKE 'ConnectError%' AND last_error LIKE '%refused%' THEN 'connect_refused'
    WHEN last_error LIKE 'ConnectError%' THEN 'connect_failed'
    WHEN last_error LIKE '%ProtocolError%' THEN 'protocol'
    WHEN last_error LIKE 'ReadError%' OR last_error LIKE 'WriteError%' THEN 'connection_lost'
    ELSE 'error'
END
"""


def upgrade() -> None:
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("principal_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_webhooks_principal_id_principals", "principals", ["principal_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_webhooks_principal_id"), ["principal_id"])
    op.execute(OWNERS)
    op.execute(CLASSES)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.alter_column(
            "last_error", new_column_name="last_error_class", existing_type=sa.String()
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.alter_column(
            "last_error_class", new_column_name="last_error", existing_type=sa.String()
        )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhooks_principal_id"))
        batch_op.drop_constraint("fk_webhooks_principal_id_principals", type_="foreignkey")
        batch_op.drop_column("principal_id")
