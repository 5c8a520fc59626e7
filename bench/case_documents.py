"""documents: how long one 执法文书 takes to render, against the issue's ceiling of 200 ms.

rectify: the pending documents of real steps (assign → 责令限期整改指令书, listing → 挂牌督办
通知书, verify_fail → 整改复查意见书, penalty → 行政处罚决定书, suspension, transfer) are issued
through the service on SQLite; then each round renders every snapshot N times with the
process's warm Typst compiler (fonts loaded once, as in `rectify serve`), PDF/A-2b with the Noto
CJK fonts embedded, and takes the median milliseconds per document. The cold first render
(fonts read from disk) is reported beside it. Rendering runs after commit, outside the
group-commit writer, so this is not on any request's path; the figure says how far behind a
burst of issuing steps the documents can fall.

No peer: the goal is the issue's (≤ 200 ms a document).
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from common import REGION, Options, Side, add_enterprise, goal, new_context, result, scratch
from sqlalchemy import select

from rectify.auth.scope import Caller
from rectify.documents.models import Document
from rectify.documents.render import Renderer
from rectify.hazards import service
from rectify.hazards.models import HazardCreate

NAME = "documents"
FULL = 200  # renders per round


def _issue(ctx: Any) -> list[Any]:
    """Issue one document of each kind the steps below issue; their rows."""
    firm = add_enterprise(ctx)
    d = Caller(role="dispatcher", name="bench", region_code=REGION)
    i = Caller(role="inspector", name="bench", region_code=REGION)
    e = Caller(role="enterprise", name="bench", enterprise_id=firm)
    data = HazardCreate(
        enterprise_id=firm,
        title="储罐区可燃气体报警器失效",
        grade="major",
        industry="化工",
        source="inspection",
        location="罐区B",
        description="报警器探头损坏，联锁失效。",
    )
    hid = service.report(ctx=ctx, caller=i, data=data)["id"]
    soon = (ctx.now() + timedelta(days=20)).isoformat()
    plan = {
        "goals": "恢复报警",
        "measures": "更换探头",
        "funds_yuan": 5000,
        "responsible_person": "王敏",
        "deadline": soon,
        "contingency_plan": "停止装卸",
    }
    steps = [
        (d, "assign", {"assignee": "设备部"}),
        (e, "accept", {"plan": plan}),
        (d, "list_for_supervision", {"level": "county", "document_no": "bench-1"}),
        (d, "order_suspension", {"order_no": "bench-2", "reason": "无法保证安全"}),
        (
            i,
            "record_penalty",
            {
                "decision_no": "bench-3",
                "kind": "fine",
                "amount_yuan": 50000,
                "legal_basis": "安全生产法第一百零二条",
            },
        ),
    ]
    for caller, trigger, payload in steps:
        service.transition(ctx=ctx, caller=caller, hazard_id=hid, trigger=trigger, payload=payload)
    with ctx.db.session() as session:
        return list(session.exec(select(Document)).scalars())


def run(opts: Options) -> dict[str, Any]:
    n = opts.size(FULL, minimum=10)
    side = Side("rectify: one document rendered (Typst, warm)", "ms", higher_is_better=False)
    with scratch(NAME) as tmp:
        ctx = new_context(tmp / "data")
        try:
            docs = _issue(ctx)
            assert ctx.documents is not None
            renderer = Renderer(ctx.documents)
            jobs = [
                (ctx.documents.kinds[r.kind].template, json.loads(r.snapshot), r.issued_at)
                for r in docs
            ]
            start = time.perf_counter()
            first = renderer.render(template=jobs[0][0], snapshot=jobs[0][1], at=jobs[0][2])
            cold_ms = (time.perf_counter() - start) * 1000
            for _ in range(opts.rounds):
                times = []
                for k in range(n):
                    template, snapshot, at = jobs[k % len(jobs)]
                    t = time.perf_counter()
                    renderer.render(template=template, snapshot=snapshot, at=at)
                    times.append((time.perf_counter() - t) * 1000)
                times.sort()
                side.samples.append(times[len(times) // 2])
        finally:
            ctx.db.dispose()
    return result(
        name=NAME,
        compares="median render time of one document against the issue's 200 ms ceiling",
        opts=opts,
        rectify=side,
        peer=None,
        goals=[goal("render one document", side.median, "<=", 200, " ms")],
        size={"renders_per_round": n, "kinds": len(jobs), "pdf_bytes": len(first)},
        extra={"cold_first_render_ms": round(cold_ms, 1)},
    )
