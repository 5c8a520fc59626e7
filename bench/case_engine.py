"""engine: whole main-track lifecycles per second, rectify's service vs a BPMN engine.

rectify: report → assign → accept → report_progress → confirm_rectified → verify_pass →
close through the service layer, one write transaction each (`report_in` for the report,
`hazards.service.transition` for the six triggers, with the payloads the API takes); each step
authorises the caller, runs the state machine and its guards, writes the effects (deadline,
plan, timers), appends a hashed event and returns the hazard's view. The evidence that
`confirm_rectified` cites is attached in the report's transaction (no extra step). SQLite WAL,
synchronous=FULL.

peer: the same track as a BPMN 2.0 process (bench/hazard_main_track.bpmn: one user task per
trigger, the verification outcome on an exclusive gateway) run by SpiffWorkflow, the Python
BPMN engine, persisted the way its users persist it: after each completed task the workflow is
serialised with BpmnWorkflowSerializer to JSON and stored in one row. Each step is one
transaction (BEGIN IMMEDIATE, SELECT the row, deserialise, complete the ready task with the
same payload as task data, run the engine steps, serialise, UPDATE, COMMIT), the report step an
INSERT of the new workflow; the process spec is parsed once. Same file system, same pragmas.
A general-purpose workflow engine is what one would reach for instead of a hand-written
state machine, so it is the natural peer.

Goal: rectify's lifecycle rate at least 3x SpiffWorkflow's (one client, as issue 11 measures
it). Also measured, as figures: both sides driven by 8 clients at once (threads; rectify's
commands share commits through the group-commit writer, SpiffWorkflow's transactions take
turns on a lock, one commit per step as its users persist it).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any

from common import (
    REGION,
    Options,
    Side,
    add_enterprise,
    durable_sqlite,
    goal,
    head_to_head,
    new_context,
    profiled,
    result,
    scratch,
    timed,
)
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from rectify.auth.scope import Caller
from rectify.database.core import utcnow
from rectify.database.uow import UnitOfWork
from rectify.demo import tiny_png
from rectify.evidence.models import Evidence
from rectify.hazards import service
from rectify.hazards.models import HazardCreate

NAME = "engine"
FULL = 1_000  # lifecycles per side and round (7 transactions each)
BPMN = Path(__file__).with_name("hazard_main_track.bpmn")
PROCESS = "hazard_main_track"
EVIDENCE = Evidence.__table__  # type: ignore[attr-defined]

REPORT = {
    "title": "消防通道堵塞",
    "description": "",
    "grade": "general",
    "industry": "商贸",
    "source": "inspection",
    "location": "一层",
    "violation": False,
}


def _payloads(evidence: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(role, trigger, payload) of the six steps after the report."""
    deadline = (utcnow() + timedelta(days=5)).isoformat()
    plan = {"measures": "清理通道", "responsible_person": "李强", "deadline": deadline}
    return [
        ("dispatcher", "assign", {"assignee": "王工"}),
        ("enterprise", "accept", {"plan": plan}),
        ("enterprise", "report_progress", {"note": "已清理一半", "percent": 50}),
        ("enterprise", "confirm_rectified", {"summary": "已整改", "evidence": [evidence]}),
        ("inspector", "verify_pass", {"note": "复查合格"}),
        ("dispatcher", "close", {"note": "销号"}),
    ]


# -- rectify -------------------------------------------------------------------------------
def rectify_side(opts: Options, where: Path, count: int, clients: int = 1) -> float:
    ctx = new_context(where)
    firm = add_enterprise(ctx)
    callers = {
        "dispatcher": Caller("dispatcher", "bench", region_code=REGION),
        "inspector": Caller("inspector", "bench", region_code=REGION),
        "enterprise": Caller("enterprise", "bench", enterprise_id=firm),
    }
    blob = ctx.evidence.put(io.BytesIO(tiny_png(7)))
    steps = _payloads(blob.sha256)
    data = HazardCreate(enterprise_id=firm, **REPORT)

    def report(uow: UnitOfWork) -> int:
        """The report, and the evidence confirm_rectified cites, in one transaction."""
        hazard = service.report_in(uow=uow, ctx=ctx, caller=callers["inspector"], data=data)
        uow.add(
            EVIDENCE,
            {
                "hazard_id": hazard.id,
                "sha256": blob.sha256,
                "size": blob.size,
                "content_type": blob.content_type,
                "filename": "photo.png",
                "uploaded_by": "enterprise:bench",
                "at": ctx.now(),
            },
        )
        return hazard.id

    def lifecycles(count: int) -> None:
        for _ in range(count):
            hid = ctx.db.run(report)
            for role, trigger, payload in steps:
                body = service.transition(
                    ctx=ctx, caller=callers[role], hazard_id=hid, trigger=trigger, payload=payload
                )
            assert body["state"] == "closed", body["state"]

    try:
        with profiled(opts, NAME) if clients == 1 else nullcontext():
            seconds, _ = timed(lambda: concurrently(lifecycles, count, clients))
    finally:
        ctx.db.dispose()
    return count / seconds


# -- SpiffWorkflow -------------------------------------------------------------------------
def _spec() -> Any:
    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN))
    return parser.get_spec(PROCESS)


def _complete(workflow: BpmnWorkflow, name: str, data: dict[str, Any]) -> str | None:
    """Complete the ready user task `name` with its form data; the next ready task's name."""
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    task = next((t for t in ready if t.task_spec.name == name), None)
    if task is None:
        raise AssertionError(f"{name} is not ready: {[t.task_spec.name for t in ready]}")
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()
    nxt = workflow.get_tasks(state=TaskState.READY, manual=True)
    return nxt[0].task_spec.name if nxt else None


def concurrently(work: Callable[[int], None], count: int, clients: int) -> None:
    """`work(n)` in `clients` threads at once, `count` lifecycles in all."""
    if clients == 1:
        work(count)
        return
    with ThreadPoolExecutor(clients) as pool:
        for done in [pool.submit(work, count // clients) for _ in range(clients)]:
            done.result()


def spiff_side(where: Path, count: int, clients: int = 1) -> float:
    spec = _spec()
    serializer = BpmnWorkflowSerializer()
    setup = durable_sqlite(where / "spiff.db")
    setup.execute(
        "CREATE TABLE workflows (id INTEGER PRIMARY KEY, task TEXT, completed INTEGER NOT NULL,"
        " serialization TEXT NOT NULL, updated_at TEXT NOT NULL)"
    )
    setup.close()
    # Several clients: one connection each, their transactions taking turns on a lock of this
    # process (as rectify's writers do), not in SQLite's busy handler, which sleeps.
    turn = threading.Lock()
    # The BPMN's "verify" task with verify_passed=True takes the gateway's pass branch.
    steps = [
        ("verify", {**payload, "verify_passed": True})
        if trigger == "verify_pass"
        else (trigger, payload)
        for _, trigger, payload in _payloads("0" * 64)
    ]

    def lifecycles(count: int) -> None:
        conn = durable_sqlite(where / "spiff.db")
        try:
            _spiff_lifecycles(conn, turn, count)
        finally:
            conn.close()

    def _spiff_lifecycles(conn: Any, turn: threading.Lock, count: int) -> None:
        for _ in range(count):
            workflow = BpmnWorkflow(spec)
            workflow.do_engine_steps()
            nxt = _complete(workflow, "report", {"enterprise_id": 1, **REPORT})
            with turn:
                conn.execute("BEGIN IMMEDIATE")
                cur = conn.execute(
                    "INSERT INTO workflows (task, completed, serialization, updated_at) "
                    "VALUES (?, ?, ?, ?)",
                    (nxt, 0, serializer.serialize_json(workflow), utcnow().isoformat()),
                )
                wid = cur.lastrowid
                conn.execute("COMMIT")
            for name, payload in steps:
                turn.acquire()
                conn.execute("BEGIN IMMEDIATE")
                (stored,) = conn.execute(
                    "SELECT serialization FROM workflows WHERE id = ?", (wid,)
                ).fetchone()
                workflow = serializer.deserialize_json(stored)
                nxt = _complete(workflow, name, payload)
                conn.execute(
                    "UPDATE workflows SET task = ?, completed = ?, serialization = ?, "
                    "updated_at = ? WHERE id = ?",
                    (
                        nxt,
                        int(workflow.is_completed()),
                        serializer.serialize_json(workflow),
                        utcnow().isoformat(),
                        wid,
                    ),
                )
                conn.execute("COMMIT")
                turn.release()
            assert workflow.is_completed()

    seconds, _ = timed(lambda: concurrently(lifecycles, count, clients))
    return count / seconds


CLIENTS = 8  # the concurrent variant: lifecycles driven by this many clients at once


def run(opts: Options) -> dict:
    count = opts.size(FULL, minimum=50)
    ours = Side("rectify service, 7 transactions per lifecycle", "lifecycles/s")
    peer = Side("SpiffWorkflow 3.2 BPMN, serialised to SQLite per step", "lifecycles/s")
    ours_n = Side(f"rectify, {CLIENTS} clients at once (group commit)", "lifecycles/s")
    peer_n = Side(f"SpiffWorkflow, {CLIENTS} clients at once", "lifecycles/s")
    many = count - count % CLIENTS
    with scratch(NAME) as tmp:
        head_to_head(
            opts,
            tmp,
            {
                "rectify": (ours, lambda where: rectify_side(opts, where, count)),
                "peer": (peer, lambda where: spiff_side(where, count)),
                f"rectify x{CLIENTS}": (
                    ours_n,
                    lambda where: rectify_side(opts, where, many, CLIENTS),
                ),
                f"peer x{CLIENTS}": (peer_n, lambda where: spiff_side(where, many, CLIENTS)),
            },
            fmt=",.1f",
        )
    concurrent = ours_n.median / peer_n.median
    return result(
        name=NAME,
        compares="main-track lifecycles/s: rectify service vs SpiffWorkflow BPMN + SQLite",
        opts=opts,
        rectify=ours,
        peer=peer,
        goals=[goal("rectify / SpiffWorkflow rate", ours.median / peer.median, ">=", 3.0, "x")],
        size={"lifecycles_per_round": count, "transactions_per_lifecycle": 7},
        notes=[
            f"one client: {ours.median:,.1f} vs {peer.median:,.1f} lifecycles/s; "
            f"{CLIENTS} clients at once: {ours_n.median:,.1f} vs {peer_n.median:,.1f} "
            f"lifecycles/s ({concurrent:.2f}x)"
        ],
        extra={
            "rectify_steps_per_s": round(ours.median * 7),
            "spiff_steps_per_s": round(peer.median * 7),
            "concurrent": {
                "clients": CLIENTS,
                "rectify": ours_n.as_dict(),
                "peer": peer_n.as_dict(),
                "ratio": round(concurrent, 3),
            },
        },
    )
