"""Document numbers (文号): per office, kind and year, unique and gapless, taken in the issuing
step's own transaction — a refused step takes none, a rolled-back one gives its number back —
and never chosen by the caller; under concurrency from separate connections and writers
(separate contexts, as two processes would be) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rectify.auth import service as auth
from rectify.auth.scope import Caller
from rectify.context import build_context
from rectify.documents.models import Document, DocumentCounter
from rectify.hazards import row as rows
from rectify.hazards import service as hazards
from tests.documents.helpers import Officers, listed, rectifying
from tests.support import FakeDNS, World


def _numbers(world: World) -> list[str]:
    with world.ctx.db.engine.connect() as c:
        t = Document.__table__  # type: ignore[attr-defined]
        return list(c.execute(select(t.c.number).order_by(t.c.id)).scalars())


def _assign(world: World, hid: int, officers: Officers, expect: int = 200, **extra: Any) -> None:
    world.fire(
        hid,
        "dispatcher",
        "assign",
        expect=expect,
        assignee="王工",
        officers=officers.ids(),
        **extra,
    )


def test_numbers_count_per_office_kind_and_year(world: World, officers: Officers) -> None:
    a, b = world.report()["id"], world.report()["id"]
    _assign(world, a, officers)
    _assign(world, b, officers)
    # Another kind counts on its own; so does another office (the city's dispatcher).
    world.fire(a, "inspector", "record_penalty", decision_no="X", kind="warning", legal_basis="L")
    world.fire(
        b,
        "dispatcher_city",
        "record_penalty",
        decision_no="Y",
        kind="warning",
        legal_basis="L",
    )
    assert _numbers(world) == [
        "鄂汉岸应急责改〔2026〕1号",
        "鄂汉岸应急责改〔2026〕2号",
        "鄂汉岸应急罚〔2026〕1号",
        "鄂汉应急罚〔2026〕1号",
    ]
    # A new year in China (UTC+8) starts again at 1, though it is still 2026 in UTC.
    world.clock.now = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    c = world.report()["id"]
    _assign(world, c, officers)
    assert _numbers(world)[-1] == "鄂汉岸应急责改〔2027〕1号"
    # The step's event records what it issued.
    assign = world.history(c)[1]
    assert assign["payload"]["document"]["number"] == "鄂汉岸应急责改〔2027〕1号"
    assert [o["id"] for o in assign["payload"]["document"]["officers"]] == officers.ids()


def test_a_refused_step_takes_no_number(world: World, officers: Officers) -> None:
    hid = world.report()["id"]
    past = (world.clock.now - timedelta(days=1)).isoformat()
    _assign(world, hid, officers, expect=422, deadline=past)  # payload refused
    world.fire(hid, "dispatcher", "assign", expect=422, assignee="王工")  # no officers
    world.fire(hid, "dispatcher", "assign", expect=422, assignee="王工", officers=[999])
    world.fire(hid, "inspector", "assign", expect=403, assignee="王工", officers=officers.ids())
    other = world.report(enterprise_id=world.other_firm, who="inspector_elsewhere")["id"]
    world.fire(other, "dispatcher", "assign", expect=404, assignee="王工", officers=[1])
    assert _numbers(world) == []
    _assign(world, hid, officers)
    _assign(world, hid, officers, expect=409)  # the state no longer allows it
    assert _numbers(world) == ["鄂汉岸应急责改〔2026〕1号"]


def test_a_rolled_back_step_gives_its_number_back(world: World, officers: Officers) -> None:
    hid = world.report()["id"]
    caller = _caller(world, "dispatcher")

    def then_fail(uow: Any) -> None:
        hazard = rows.load(uow, hid, lock=True)
        hazards.apply(
            uow=uow,
            ctx=world.ctx,
            caller=caller,
            hazard=hazard,
            trigger="assign",
            payload={"assignee": "王工", "officers": officers.ids()},
        )
        raise RuntimeError("the disk filled up before the commit")

    with pytest.raises(RuntimeError):
        world.ctx.db.run(then_fail)
    assert _numbers(world) == []
    with world.ctx.db.engine.connect() as c:
        assert c.execute(select(DocumentCounter)).all() == []
    _assign(world, hid, officers)
    assert _numbers(world) == ["鄂汉岸应急责改〔2026〕1号"]


def test_the_caller_does_not_choose_the_number(world: World, officers: Officers) -> None:
    hid = rectifying(world, officers)
    world.fire(hid, "dispatcher", "list_for_supervision", level="county", document_no="我的编号9")
    event = world.history(hid)[-1]
    # The caller's own reference is kept as given; the 文号 comes from the numbering.
    assert event["payload"]["document_no"] == "我的编号9"
    assert event["payload"]["document"]["number"] == "鄂汉岸安委办督〔2026〕1号"
    assert [d["number"] for d in listed(world, hid)] == [
        "鄂汉岸应急责改〔2026〕1号",
        "鄂汉岸安委办督〔2026〕1号",
    ]


def test_the_systems_own_listing_issues_its_notice(world: World, officers: Officers) -> None:
    from rectify.timers.engine import catch_up

    hid = rectifying(world, officers, grade="major")
    world.clock.advance(days=30, seconds=1)
    catch_up(ctx=world.ctx)
    listing = world.history(hid)[-1]
    assert listing["trigger"] == "list_for_supervision" and listing["actor"] == "system:scheduler"
    # A city-level listing is the city office's notice, numbered by it.
    assert listing["payload"]["document_no"] == "鄂汉安委办督〔2026〕1号"
    assert listing["payload"]["document"] == {
        "kind": "supervision_notice",
        "number": "鄂汉安委办督〔2026〕1号",
    }


def _caller(world: World, who: str) -> Caller:
    with world.ctx.db.session() as session:
        return auth.authenticate(session=session, token=world.tokens[who])


@pytest.mark.parametrize("writers", [3])
def test_concurrent_issuers_get_gapless_unique_numbers(
    world: World, officers: Officers, writers: int
) -> None:
    """Separate contexts (each its own engine, pool and group-commit writer, like separate
    processes) assign hazards at the same moment: every number once, none skipped."""
    per_writer = 8
    ids = [world.report()["id"] for _ in range(writers * per_writer)]
    caller = _caller(world, "dispatcher")
    contexts = [
        build_context(world.ctx.settings, clock=world.clock, resolve=FakeDNS())
        for _ in range(writers)
    ]
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def run(ctx: Any, mine: list[int]) -> None:
        try:
            start.wait()
            futures = [
                hazards.submit_transition(
                    ctx=ctx,
                    caller=caller,
                    hazard_id=hid,
                    trigger="assign",
                    payload={"assignee": "王工", "officers": officers.ids()},
                )
                for hid in mine
            ]
            for f in futures:
                f.result(timeout=60)
        except BaseException as exc:  # noqa: BLE001  (reported below)
            failures.append(exc)

    threads = [
        threading.Thread(target=run, args=(ctx, ids[i::writers])) for i, ctx in enumerate(contexts)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        for ctx in contexts:
            ctx.db.dispose()
    assert failures == []
    numbers = _numbers(world)
    expected = [f"鄂汉岸应急责改〔2026〕{n}号" for n in range(1, len(ids) + 1)]
    assert sorted(numbers) == sorted(expected)  # no gap, no duplicate
    # Each hazard's assign event names the number its document carries.
    with world.ctx.db.engine.connect() as c:
        t = Document.__table__  # type: ignore[attr-defined]
        by_hazard = dict(c.execute(select(t.c.hazard_id, t.c.number)).all())
    for hid in ids:
        assert world.history(hid)[1]["payload"]["document"]["number"] == by_hazard[hid]
