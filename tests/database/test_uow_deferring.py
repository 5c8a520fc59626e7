"""UnitOfWork.deferring: a statement naming none of the queued rows' tables runs before they are
sent; one that names such a table (or any statement outside `deferring`) sends them first."""

from __future__ import annotations

from sqlalchemy import func, select

from rectify.database.core import utcnow
from rectify.hazards.row import HAZARDS
from rectify.timers.models import Timer
from tests.support import World

TIMERS = Timer.__table__  # type: ignore[attr-defined]


def timer(hazard_id: int) -> dict:
    now = utcnow()
    return {"hazard_id": hazard_id, "kind": "reminder", "due_at": now, "step": 0} | {
        "created_at": now,
        "provisional": False,
        "counted_from": None,
        "rule": None,
    }


def test_deferred_rows_wait_for_a_statement_that_names_their_table(world: World) -> None:
    hid = world.report()["id"]
    sent = select(func.count()).select_from(TIMERS).where(TIMERS.c.hazard_id == hid)
    with world.ctx.db.unit() as uow:

        def stored() -> int:  # read behind the unit's back: what has been sent
            return uow.connection.execute(sent).scalar_one()

        before = stored()
        with uow.deferring():
            uow.add(TIMERS, timer(hid))
            uow.execute(select(HAZARDS.c.id).where(HAZARDS.c.id == hid))  # names hazards only
            assert stored() == before
            assert uow.execute(sent).scalar_one() == before + 1  # names timers: sent first
        uow.add(TIMERS, timer(hid))
        uow.execute(select(HAZARDS.c.id).where(HAZARDS.c.id == hid))  # not deferring: sent
        assert stored() == before + 2
