"""A hazard as the write path holds it: the row's columns, read, inserted and updated in Core.

The trigger path reads one hazard row, lets the workflow and the trigger's effect change it in
memory, and writes back only the columns that changed, all through the transaction's
UnitOfWork. Replay builds the same object from the events alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from rectify.database.uow import UnitOfWork
from rectify.hazards.models import Hazard

__all__ = ["COLUMNS", "DEFAULTS", "HAZARDS", "HazardRow", "insert", "load", "save"]

HAZARDS = Hazard.__table__  # type: ignore[attr-defined]
COLUMNS: tuple[str, ...] = tuple(c.name for c in HAZARDS.columns)


def _default(name: str) -> Any:
    field = Hazard.model_fields.get(name)
    if field is None or field.is_required() or field.default_factory is not None:
        return None
    return field.default


DEFAULTS: dict[str, Any] = {name: _default(name) for name in COLUMNS}
"""Every column of a new hazard row: the model's default where it has a plain one, else None."""


class HazardRow:
    """A hazard's columns as attributes (`row.deadline`), and which of them changed."""

    __slots__ = ("changed", "values")

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.changed: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def set(self, **fields: Any) -> None:
        """Change columns (remembered for `save`)."""
        self.values.update(fields)
        self.changed.update(fields)

    @property
    def workflow_state(self) -> dict[str, str]:
        """The main track and the three branches."""
        v = self.values
        return {"state": v["state"], "supervision": v["supervision"]} | {
            "production": v["production"],
            "judicial": v["judicial"],
        }


# Statements built once (SQLAlchemy then compiles each once and caches it): the write path
# runs them on every trigger.
_LOAD = select(HAZARDS).where(HAZARDS.c.id == bindparam("hid"))
_INSERT = HAZARDS.insert().returning(HAZARDS.c.id)
_UPDATE = update(HAZARDS).where(HAZARDS.c.id == bindparam("hazard_row_id"))
"""The SET clause comes from the parameters' keys (the columns that changed)."""


def load(uow: UnitOfWork, hazard_id: int, *, lock: bool = False) -> HazardRow | None:
    """The hazard row (locked until commit with `lock`), or None."""
    statement = uow.dialect.for_update(_LOAD) if lock else _LOAD
    found = uow.execute(statement, {"hid": hazard_id}).mappings().first()
    return None if found is None else HazardRow(dict(found))


def insert(uow: UnitOfWork, values: dict[str, Any]) -> HazardRow:
    """Insert a new hazard row and return it with its id."""
    new_id = uow.execute(_INSERT, values).scalar_one()
    full = DEFAULTS | values | {"id": new_id}
    return HazardRow(full)


def save(uow: UnitOfWork, row: HazardRow) -> None:
    """Write the columns that changed since the row was read (queued: sent with the
    transaction's next statement, batched with other hazards' updates of the same columns)."""
    if row.changed:
        uow.defer(_UPDATE, {**row.changed, "hazard_row_id": row.id})
        row.changed = {}


def as_json(value: Any) -> Any:
    """A column value as the API shows it (times ISO 8601)."""
    return value.isoformat() if isinstance(value, datetime) else value


OPEN_STATES = ("assigned", "rectifying")  # where a passed deadline makes a hazard overdue


def overdue_seconds(hazard: Any, now: datetime) -> int | None:
    """How long past its deadline an open hazard is (None when not overdue)."""
    if hazard.state in OPEN_STATES and hazard.deadline and now > hazard.deadline:
        return int((now - hazard.deadline).total_seconds())
    return None
