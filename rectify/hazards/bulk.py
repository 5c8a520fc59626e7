"""Many hazards at once through the service path (benchmarks, durability tests, load)."""

from __future__ import annotations

from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.database.uow import UnitOfWork
from rectify.hazards import service
from rectify.hazards.models import HazardCreate

LOADER = Caller(role="dispatcher", name="bulk-loader")


def seed_assigned(
    *, ctx: Context, enterprise_id: int, count: int, batch: int = 500, grade: str = "general"
) -> list[int]:
    """Report and assign `count` hazards (deadline from policy), `batch` per transaction."""

    def command(uow: UnitOfWork, start: int) -> list[int]:
        ids = []
        for i in range(start, min(start + batch, count)):
            data = HazardCreate(
                enterprise_id=enterprise_id,
                title=f"批量隐患 {i}",
                grade=grade,
                industry="bulk",
                source="inspection",
            )
            hazard = service.report_in(uow=uow, ctx=ctx, caller=LOADER, data=data)
            service.apply(
                uow=uow,
                ctx=ctx,
                caller=LOADER,
                hazard=hazard,
                trigger="assign",
                payload={"assignee": "负责人"},
            )
            ids.append(hazard.id)
        return ids

    ids: list[int] = []
    for start in range(0, count, batch):
        ids += ctx.db.run(lambda uow, s=start: command(uow, s))
    return ids
