"""/metrics: Prometheus text for a scraper without a token; transitions by trigger and role,
timer lateness, webhook delivery failures, and the due-timer and overdue-hazard gauges, each
driven by real requests, timers and deliveries and read back the way Prometheus reads them.

Counters are per process and shared by every test of the session, so the tests compare before
and after. The tests marked "call site pending" wait for the one-line calls to the `record_*`
functions in the hazard service, the timer engine and the webhook worker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError

from rectify.context import Context
from rectify.database.uow import UnitOfWork
from rectify.exceptions import Conflict
from rectify.notifications import service as notifications
from rectify.observability import metrics
from rectify.timers import engine
from tests.observability.helpers import scrape, value
from tests.support import World


def test_metrics_are_prometheus_text_for_a_scraper_without_a_token(world: World) -> None:
    r = world.client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert r.headers["x-request-id"]
    for line in (
        "# TYPE rectify_transitions_total counter",
        "# TYPE rectify_timer_lateness_seconds histogram",
        "# TYPE rectify_webhook_delivery_failures_total counter",
        "# TYPE rectify_timers_due gauge",
        "# TYPE rectify_hazards_overdue gauge",
        "rectify_database_up 1.0",
    ):
        assert line in r.text.splitlines(), line
    assert "_created" not in r.text  # creation-time series are switched off

    # A scraper that asks for OpenMetrics gets it.
    r = world.client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.endswith("# EOF\n")


def _due_and_overdue(world: World, ids: list[int]) -> tuple[int, int]:
    """What the API says: pending timers already due, and hazards flagged overdue."""
    now = world.clock.now
    due = sum(
        1
        for hid in ids
        for timer in world.get(hid, who="admin")["pending_timers"]
        if datetime.fromisoformat(timer["due_at"]) <= now
    )
    overdue = sum(1 for hid in ids if world.get(hid, who="admin")["overdue"])
    return due, overdue


def test_gauges_count_due_timers_and_overdue_hazards_as_of_the_scrape(world: World) -> None:
    ids = [world.to(state) for state in ("assigned", "rectifying", "reported")]
    ids.append(world.to("awaiting_verification"))
    start = world.clock.now
    deadline = datetime.fromisoformat(world.get(ids[0])["deadline"])
    for now in (
        start,
        start + timedelta(days=1, seconds=1),  # the plan is due
        deadline + timedelta(seconds=1),
        deadline + timedelta(days=20),  # every timer is due, the escalations' too
    ):
        world.clock.now = now
        samples = scrape(world)
        got = (value(samples, "rectify_timers_due"), value(samples, "rectify_hazards_overdue"))
        assert got == _due_and_overdue(world, ids), now
        if now == start:
            assert got == (0, 0)
    assert got[0] > 0 and got[1] == 2  # assigned and rectifying; reported has no deadline yet

    engine.catch_up(ctx=world.ctx)  # the engine fires what is due: nothing is due any more
    samples = scrape(world)
    assert value(samples, "rectify_timers_due") == 0
    assert value(samples, "rectify_hazards_overdue") == 2


def test_a_scrape_without_the_database_still_serves_the_counters(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> None:
        raise OperationalError("SELECT count(*)", {}, ConnectionError("database is down"))

    monkeypatch.setattr(world.ctx.db, "session", down)
    r = world.client.get("/metrics")
    assert r.status_code == 200
    assert "rectify_database_up 0.0" in r.text.splitlines()
    assert "# TYPE rectify_transitions_total counter" in r.text
    assert "rectify_timers_due " not in r.text


# -- driven by real behaviour (the call sites) ----------------------------------------------


def test_an_applied_trigger_is_counted_by_trigger_and_role(world: World) -> None:
    before = scrape(world)
    hid = world.report()["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工")
    world.fire(hid, "enterprise", "accept", plan=world.plan())
    after = scrape(world)
    for trigger, role in (("assign", "dispatcher"), ("accept", "enterprise")):
        name, labels = "rectify_transitions_total", {"trigger": trigger, "role": role}
        assert value(after, name, **labels) == value(before, name, **labels) + 1, trigger


def test_a_refused_trigger_is_not_counted(world: World) -> None:
    def transitions() -> dict[Any, float]:
        return {k: v for k, v in scrape(world).items() if k[0] == "rectify_transitions_total"}

    hid = world.report()["id"]
    before = transitions()
    world.fire(hid, "enterprise", "assign", expect=403, assignee="王工")
    world.fire(hid, "dispatcher", "accept", expect=403, plan=world.plan())
    world.fire(hid, "dispatcher", "assign", expect=422)  # no assignee
    world.fire(hid, "dispatcher", "close", expect=409)  # not verified
    assert transitions() == before


def test_a_fired_timer_observes_how_late_it_fired(world: World) -> None:
    hid = world.to("assigned")
    [plan_due] = [t for t in world.get(hid)["pending_timers"] if t["kind"] == "plan_due"]
    world.clock.now = datetime.fromisoformat(plan_due["due_at"]) + timedelta(seconds=30)
    before = scrape(world)
    engine.catch_up(ctx=world.ctx)
    after = scrape(world)

    def delta(suffix: str, **labels: str) -> float:
        name = f"rectify_timer_lateness_seconds_{suffix}"
        return value(after, name, kind="plan_due", **labels) - value(
            before, name, kind="plan_due", **labels
        )

    assert delta("count") == 1
    assert delta("sum") == pytest.approx(30)
    assert delta("bucket", le="30.0") == 1 and delta("bucket", le="10.0") == 0
    # The system's own event is a transition too.
    name, labels = "rectify_transitions_total", {"trigger": "plan_overdue", "role": "system"}
    assert value(after, name, **labels) == value(before, name, **labels) + 1


def test_a_failed_webhook_delivery_is_counted_by_reason(world: World) -> None:
    r = world.client.post(
        "/api/v1/webhooks",
        json={"url": "https://receiver.example/hook", "event_types": ["assign"]},
        headers=world.h("dispatcher"),
    )
    assert r.status_code == 201, r.text
    world.to("assigned")

    def deliver(answer: httpx.Response | Exception) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            if isinstance(answer, Exception):
                raise answer
            return answer

        with httpx.Client(transport=httpx.MockTransport(handler)) as http:
            assert notifications.deliver_due(ctx=world.ctx, worker="test", client=http) == 1

    name = "rectify_webhook_delivery_failures_total"
    before = scrape(world)
    deliver(httpx.Response(503))
    world.clock.advance(hours=1)  # past the backoff
    deliver(httpx.ConnectError("connection refused"))
    world.clock.advance(hours=1)
    deliver(httpx.Response(204))  # a success is no failure
    after = scrape(world)
    for reason in ("5xx", "network"):
        assert value(after, name, reason=reason) == value(before, name, reason=reason) + 1


# -- counting on commit ---------------------------------------------------------------------

Tag = Callable[[str], str]


@pytest.fixture
def tag() -> Tag:
    """Label values of this test run only (the counters live as long as the process)."""
    run = uuid4().hex[:8]
    return lambda name: f"{name}_{run}"


def _count(trigger: str) -> float:
    labels = {"trigger": trigger, "role": "test"}
    return REGISTRY.get_sample_value("rectify_transitions_total", labels) or 0.0


def test_what_a_transaction_records_counts_only_when_it_commits(ctx: Context, tag: Tag) -> None:
    with ctx.db.unit() as uow:
        metrics.record_transition(uow, tag("committed"), "test")
        assert _count(tag("committed")) == 0  # not before the commit
    assert _count(tag("committed")) == 1

    with pytest.raises(RuntimeError), ctx.db.unit() as uow:
        metrics.record_transition(uow, tag("rolled_back"), "test")
        raise RuntimeError("the transaction fails after the trigger was applied")
    assert _count(tag("rolled_back")) == 0

    # A savepoint rolled back drops only its own; one released still waits for the outer one.
    with ctx.db.unit() as uow:
        metrics.record_transition(uow, tag("outer"), "test")
        with pytest.raises(RuntimeError), uow.savepoint():
            metrics.record_transition(uow, tag("savepoint_rolled_back"), "test")
            raise RuntimeError("refused")
        with uow.savepoint():
            metrics.record_transition(uow, tag("savepoint_released"), "test")
        assert _count(tag("savepoint_released")) == 0
    assert (_count(tag("outer")), _count(tag("savepoint_released"))) == (1, 1)
    assert _count(tag("savepoint_rolled_back")) == 0

    with pytest.raises(RuntimeError), ctx.db.unit() as uow:
        with uow.savepoint():
            metrics.record_transition(uow, tag("released_then_outer_rolled_back"), "test")
        raise RuntimeError("the batch fails")
    assert _count(tag("released_then_outer_rolled_back")) == 0

    # A command refused inside a group commit drops what it recorded; its neighbours count.
    def refused(uow: UnitOfWork) -> None:
        metrics.record_transition(uow, tag("refused"), "test")
        raise Conflict("refused by a rule")

    def accepted(uow: UnitOfWork) -> None:
        metrics.record_transition(uow, tag("accepted"), "test")

    futures = [ctx.db.writer.submit(c) for c in (accepted, refused, accepted)]
    with pytest.raises(Conflict):
        futures[1].result()
    assert [futures[0].result(), futures[2].result()] == [None, None]
    assert (_count(tag("accepted")), _count(tag("refused"))) == (2, 0)


def test_record_functions_shape_what_they_record(ctx: Context, tag: Tag) -> None:
    def lateness(kind: str, suffix: str) -> float | None:
        name = f"rectify_timer_lateness_seconds_{suffix}"
        return REGISTRY.get_sample_value(name, {"kind": kind})

    due = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    with ctx.db.unit() as uow:
        metrics.record_timer_fired(uow, tag("late"), due, due + timedelta(minutes=2))
        metrics.record_timer_fired(uow, tag("early"), due, due - timedelta(seconds=5))
    assert (lateness(tag("late"), "count"), lateness(tag("late"), "sum")) == (1, 120)
    # A clock stepped back is not a negative lateness.
    assert (lateness(tag("early"), "count"), lateness(tag("early"), "sum")) == (1, 0)

    def failures() -> dict[str, float]:
        name = "rectify_webhook_delivery_failures_total"
        return {
            r: REGISTRY.get_sample_value(name, {"reason": r}) or 0.0
            for r in ("network", "4xx", "5xx")
        }

    before = failures()
    for status in (None, 404, 410, 503):
        metrics.record_webhook_failure(status)
    after = failures()
    assert {r: after[r] - before[r] for r in after} == {"network": 1, "4xx": 2, "5xx": 1}
