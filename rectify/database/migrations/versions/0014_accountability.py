"""追责问责 entries as records; the original rectification deadline on hazards

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 12:00:00.000000

`accountability`: one row per 追责问责 entry, opened by the event whose payload carries
`accountability` (until now only a payload: `verification_overdue`), resolved by a
`resolve_accountability` event. Existing `verification_overdue` events get their rows here, so
that replay (which opens the same rows from the same payloads) agrees with the table.

`hazards.original_deadline`: the first rectification deadline set. Filled for existing hazards
from the first event that recorded the deadline it replaced (`previous_deadline`: an approved
extension, a failed verification, a regrade, a listing with a deadline), else the deadline.
"""

import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate writes AutoString)
from alembic import op

import rectify.database.core  # noqa: F401  (UTCDateTime columns)
from rectify.database.core import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOVERS = ("decide_extension", "verify_fail", "regrade", "list_for_supervision")
VERIFYING_SIDE = "负责复查验收的监管部门（验收方）"  # rectify.hazards.triggers.accountability


def _text(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    table = op.create_table(
        "accountability",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        _text("region_code", 12),
        sa.Column("hazard_seq", sa.Integer(), nullable=False),
        _text("rule", 40),
        _text("body", 300),
        _text("person", 300, nullable=True),
        _text("reason", 1000),
        _time("opened_at", nullable=False),
        _text("state", 10),
        _text("outcome", 20, nullable=True),
        _text("note", 10000, nullable=True),
        _text("resolved_by", 300, nullable=True),
        _time("resolved_at"),
        sa.Column("resolved_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["hazard_id"], ["hazards.id"]),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("hazard_id", "enterprise_id", "region_code", "opened_at", "state"):
        op.create_index(f"ix_accountability_{column}", "accountability", [column])
    with op.batch_alter_table("hazards") as batch:
        batch.add_column(_time("original_deadline"))
    _backfill(op.get_bind(), table)


def _backfill(bind: sa.Connection, table: sa.Table) -> None:
    hazards = sa.table(
        "hazards",
        sa.column("id"),
        sa.column("enterprise_id"),
        sa.column("region_code"),
        sa.column("deadline", UTCDateTime()),
        sa.column("original_deadline", UTCDateTime()),
    )
    events = sa.table(
        "events",
        sa.column("hazard_id"),
        sa.column("hazard_seq"),
        sa.column("trigger"),
        sa.column("at", UTCDateTime()),
        sa.column("payload"),
    )
    bind.execute(sa.update(hazards).values(original_deadline=hazards.c.deadline))
    # The deadline each hazard started with: the first `previous_deadline` its history recorded.
    firsts: dict[int, str] = {}
    moved = (
        sa.select(events.c.hazard_id, events.c.payload)
        .where(events.c.trigger.in_(MOVERS))
        .order_by(events.c.hazard_id, events.c.hazard_seq)
    )
    for hazard_id, payload in bind.execute(moved):
        if hazard_id not in firsts:
            previous = _json(payload).get("previous_deadline")
            if previous:
                firsts[hazard_id] = previous
    if firsts:
        bind.execute(
            sa.update(hazards)
            .where(hazards.c.id == sa.bindparam("hid"))
            .values(original_deadline=sa.bindparam("original")),
            [{"hid": h, "original": datetime.fromisoformat(v)} for h, v in firsts.items()],
        )
    # The entries `verification_overdue` recorded as a payload only.
    overdue = (
        sa.select(
            events.c.hazard_id,
            events.c.hazard_seq,
            events.c.at,
            events.c.payload,
            hazards.c.enterprise_id,
            hazards.c.region_code,
        )
        .join(hazards, hazards.c.id == events.c.hazard_id)
        .where(events.c.trigger == "verification_overdue")
        .order_by(events.c.hazard_id, events.c.hazard_seq)
    )
    rows = []
    for hazard_id, seq, at, payload, enterprise_id, region_code in bind.execute(overdue):
        entry = _json(payload).get("accountability")
        if not isinstance(entry, dict):
            continue
        rows.append(
            {"hazard_id": hazard_id, "enterprise_id": enterprise_id, "region_code": region_code}
            | {"hazard_seq": seq, "rule": entry.get("rule", "verification_overdue")}
            | {"body": entry.get("body", VERIFYING_SIDE), "person": entry.get("person")}
            | {"reason": entry.get("reason", "验收逾期"), "opened_at": at, "state": "open"}
        )
    if rows:
        bind.execute(table.insert(), rows)


def _json(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def downgrade() -> None:
    with op.batch_alter_table("hazards") as batch:
        batch.drop_column("original_deadline")
    for column in ("hazard_id", "enterprise_id", "region_code", "opened_at", "state"):
        op.drop_index(f"ix_accountability_{column}", table_name="accountability")
    op.drop_table("accountability")
