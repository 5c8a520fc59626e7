"""console: the server time of every console page, on the demo and on 100,000 hazards.

rectify: every GET page the console serves (found in the app's routes, so pages added later
are measured too): path parameters filled with a hazard that has a long history and with the
largest enterprise, each list page once plain and once per query filter it declares (state,
grade, overdue, enterprise, region, a later page ...), the replay page at an instant between
two events. Each URL is fetched N times in-process through the ASGI app (httpx's
ASGITransport) by a signed-in person: the first role, of dispatcher, auditor, enterprise,
inspector and admin, that the page answers 200 for. Server time is measured inside the ASGI
call, from the request to the last byte of the body: the authentication gate's session lookup,
the view, its queries and the template.

peer: a no-op console page added to the same app for this case (the same gate and session
lookup, the same `ConsoleCaller` dependency, a 9-byte HTML body): what any console page costs
before its own work.

Databases: the demo (`rectify.demo`), and 100,000 assigned hazards (bench/seed.py's raw
writer: report and assign events chained as the service chains them, three timers each) over
100 enterprises of one district, the largest holding a fifth, half of them overdue; plus a
hazard with a 64-event history and three penalties (through the service). --quick: 5,000.

Left out, and why: /console/audit/verify checks every chain of the database on each visit
(whole-database by nature: seconds at this size; the `audit` case measures verify itself);
the export download streams every event, a ledger download a whole ledger (the `ledgers` case
measures it); POST forms and redirects are not pages.

Goal (issue 10): median ≤ 50 ms for every page, on both databases.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from common import (
    REGION,
    Options,
    Side,
    add_enterprise,
    goal,
    in_turn,
    new_context,
    result,
    scratch,
    timed,
)
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from seed import seed_assigned_raw

from rectify.api.app import create_app
from rectify.auth import people
from rectify.auth.scope import Caller
from rectify.console.deps import ConsoleCaller
from rectify.context import Context
from rectify.database.core import utcnow
from rectify.demo import load_demo_if_empty
from rectify.hazards import service as hazards
from rectify.hazards.models import HazardCreate

NAME = "console"
FULL, QUICK = 100_000, 5_000
FIRMS = 100
GOAL_MS = 50.0
PASSWORD = "基准 bench console 2026"
NOOP = "/console/bench-noop"
ROLES = ("dispatcher", "auditor", "enterprise", "inspector", "admin")
SKIP = {
    "/console/audit/verify": "whole-database by nature (every chain, every checkpoint)",
    "/console/audit/export/download": "streams every event in scope",
    "/console/ledgers/download": "streams a whole ledger (the `ledgers` case measures it)",
    "/console/audit/find": "a redirect to a hazard's chain page",
}
# A value for each query filter a list page may declare (others are left out, and noted).
FILTERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "state": lambda w: "assigned",
    "grade": lambda w: "major",
    "overdue": lambda w: "true",
    "enterprise_id": lambda w: str(w["big_firm"]),
    "region": lambda w: REGION,
    "industry": lambda w: "商贸",
    "supervision": lambda w: "listed",
    "production": lambda w: "suspended",
    "judicial": lambda w: "transferred",
    "source": lambda w: "inspection",
    "open": lambda w: "1",
    "offset": lambda w: "40",
    "at": lambda w: w["between"],
    "list": lambda w: "due_soon",  # the landing page's worklists (overdue is the plain page)
}
PATHS: dict[str, Callable[[dict[str, Any]], str]] = {
    "hazard_id": lambda w: str(w["hazard"]),
    "enterprise_id": lambda w: str(w["big_firm"]),
}


# -- the databases -------------------------------------------------------------------------


def _people(ctx: Context, firm: int) -> None:
    """One person per role (cheap argon2id: signing in is not what is measured)."""
    settings = ctx.settings.model_copy(update={"argon2_memory_kib": 1024, "argon2_time_cost": 1})
    scopes: dict[str, dict[str, Any]] = {
        "dispatcher": {"region_code": REGION},
        "inspector": {"region_code": REGION},
        "enterprise": {"enterprise_id": firm},
        "auditor": {"region_code": REGION[:4] + "00"},
        "admin": {},
    }
    with ctx.db.write() as session:
        for role, scope in scopes.items():
            people.create_user(
                session=session,
                settings=settings,
                role=role,
                username=f"bench.{role}",
                display_name=f"基准{role}",
                password=PASSWORD,
                now=ctx.now(),
                **scope,
            )


def _long_history(ctx: Context, firm: int, progress: int = 60) -> tuple[int, str]:
    """A major hazard with 3 + `progress` events and three penalties; an instant between two
    of its events."""
    dispatcher = Caller(role="dispatcher", name="基准督办", region_code=REGION)
    firm_caller = Caller(role="enterprise", name="基准企业", enterprise_id=firm)
    data = HazardCreate(
        enterprise_id=firm,
        title="基准长历史隐患",
        grade="major",
        industry="商贸",
        source="inspection",
    )
    hid = hazards.report(ctx=ctx, caller=dispatcher, data=data)["id"]

    def fire(caller: Caller, trigger: str, **payload: Any) -> None:
        hazards.transition(ctx=ctx, caller=caller, hazard_id=hid, trigger=trigger, payload=payload)

    fire(dispatcher, "assign", assignee="王工")
    deadline = (ctx.now() + timedelta(days=20)).isoformat()
    plan = {"goals": "消除", "measures": "整改", "funds_yuan": 1000, "responsible_person": "李"}
    fire(firm_caller, "accept", plan=plan | {"deadline": deadline, "contingency_plan": "停用"})
    between = ctx.now().isoformat()
    for n in range(progress):
        fire(firm_caller, "report_progress", note=f"第 {n + 1} 次进展", percent=min(n, 100))
    for n in range(3):
        fire(
            dispatcher,
            "record_penalty",
            decision_no=f"基准罚〔2026〕{n + 1}号",
            kind="fine",
            amount_yuan=10000,
            legal_basis="安全生产法第一百零二条",
        )
    return hid, between


def _demo(folder: Path) -> tuple[Context, dict[str, Any]]:
    ctx = new_context(folder)
    load_demo_if_empty(ctx)
    with ctx.db.engine.connect() as c:
        firm = c.exec_driver_sql("SELECT min(id) FROM enterprises").scalar_one()
    hid, between = _long_history(ctx, firm, progress=10)
    _people(ctx, firm)
    return ctx, {"hazard": hid, "big_firm": firm, "between": between, "hazards": None}


def _large(folder: Path, count: int) -> tuple[Context, dict[str, Any]]:
    ctx = new_context(folder)
    firms = [add_enterprise(ctx, serial=n + 1) for n in range(FIRMS)]
    big, rest = count // 5, count - count // 5
    shares = [big] + [
        rest // (FIRMS - 1) + (1 if n < rest % (FIRMS - 1) else 0) for n in range(FIRMS - 1)
    ]
    now = utcnow()
    for firm, share in zip(firms, shares, strict=True):
        old = share // 2  # reported and assigned a month ago: overdue now
        seed_assigned_raw(
            ctx, enterprise_id=firm, region_code=REGION, count=old, at=now - timedelta(days=30)
        )
        seed_assigned_raw(ctx, enterprise_id=firm, region_code=REGION, count=share - old, at=now)
    hid, between = _long_history(ctx, firms[0])
    _people(ctx, firms[0])
    with ctx.db.engine.connect() as c:
        c.exec_driver_sql("ANALYZE")  # what a database that has run a while has (sqlite_stat1)
    return ctx, {"hazard": hid, "big_firm": firms[0], "between": between, "hazards": count + 1}


# -- the pages -----------------------------------------------------------------------------


def _pages(app: FastAPI, world: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Every console GET page as URLs to fetch, and what was left out (with why)."""
    urls, left = ["/console/login"], []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        if not isinstance(route, APIRoute) or "GET" not in (context.methods or ()):
            continue
        if not path.startswith("/console") or path in ("/console/login", NOOP):
            continue
        if path in SKIP:
            left.append(f"{path}: {SKIP[path]}")
            continue
        names = [p.name for p in route.dependant.path_params]
        try:
            url = path.format(**{p: PATHS[p](world) for p in names})
        except KeyError as exc:
            left.append(f"{path}: no value for {exc}")
            continue
        urls.append(url)
        for param in route.dependant.query_params:
            name = param.alias or param.name
            if name in FILTERS:
                urls.append(f"{url}?{name}={quote(FILTERS[name](world), safe='')}")
            elif name not in ("limit", "notice", "written", "next"):
                left.append(f"{url}?{name}=…: no value known for the filter")
    return urls, left


class Timed:
    """The ASGI app, timing each request from its call to the last byte of its body."""

    def __init__(self, app: FastAPI) -> None:
        self.app, self.last = app, 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        start = time.perf_counter()

        async def timed_send(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last = time.perf_counter() - start

        await self.app(scope, receive, timed_send)


async def _sign_in(transport: httpx.ASGITransport, role: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=transport, base_url="http://bench")
    form = await client.get("/console/login")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    data = {"username": f"bench.{role}", "password": PASSWORD, "csrf_token": token}
    r = await client.post("/console/login", data=data)
    assert r.status_code == 303, f"{role} could not sign in: {r.status_code}"
    return client


async def _measure(ctx: Context, world: dict[str, Any], opts: Options, n: int) -> dict[str, Any]:
    app = create_app(ctx)

    def noop(caller: ConsoleCaller) -> HTMLResponse:
        return HTMLResponse("<p>ok</p>")

    app.add_api_route(NOOP, noop, methods=["GET"], include_in_schema=False)
    timer = Timed(app)
    transport = httpx.ASGITransport(app=timer)
    clients = {role: await _sign_in(transport, role) for role in ROLES}
    clients["anonymous"] = httpx.AsyncClient(transport=transport, base_url="http://bench")
    urls, left = _pages(app, world)
    who: dict[str, str] = {}
    for url in urls:  # the first role the page answers 200 for
        statuses = set()
        for role in ("anonymous", *ROLES) if url == "/console/login" else ROLES:
            statuses.add((await clients[role].get(url)).status_code)
            if 200 in statuses:
                who[url] = role
                break
        else:
            redirect = all(300 <= s < 400 for s in statuses)
            left.append(f"{url}: {'a redirect' if redirect else 'no role gets a 200'}")
    samples: dict[str, list[float]] = {url: [] for url in who} | {NOOP: []}
    per_round = max(1, n // opts.rounds)
    for r in range(opts.rounds):
        for url, role in who.items():
            for which in in_turn(r, url, NOOP):
                client = clients[role if which == url else "dispatcher"]
                for _ in range(per_round):
                    resp = await client.get(which)
                    assert resp.status_code == 200, (which, resp.status_code)
                    samples[which].append(timer.last * 1000)
        print(f"  round {r + 1}: {len(who)} pages × {per_round}", flush=True)
    for client in clients.values():
        await client.aclose()
    return {"samples": samples, "who": who, "left": left}


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def _table(figures: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for url, values in figures["samples"].items():
        rows.append(
            {
                "page": url,
                "role": figures["who"].get(url, "dispatcher"),
                "median_ms": round(statistics.median(values), 2),
                "p90_ms": round(_p90(values), 2),
                "n": len(values),
            }
        )
    return sorted(rows, key=lambda row: -row["median_ms"])


def _database(
    label: str, build: Callable[[], tuple[Context, dict[str, Any]]], opts: Options, n: int
) -> dict[str, Any]:
    build_s, (ctx, world) = timed(build)
    print(f"  {label}: built in {build_s:.1f} s", flush=True)
    try:
        figures = asyncio.run(_measure(ctx, world, opts, n))
    finally:
        ctx.db.dispose()
    table = _table(figures)
    pages = [row for row in table if row["page"] != NOOP]
    noop = next(row for row in table if row["page"] == NOOP)
    for row in table:
        ms, p90 = row["median_ms"], row["p90_ms"]
        print(f"    {ms:7.2f} ms  p90 {p90:7.2f}  {row['page']} ({row['role']})", flush=True)
    return {
        "label": label,
        "build_s": round(build_s, 1),
        "pages": pages,
        "noop": noop,
        "left": figures["left"],
    }


def run(opts: Options) -> dict:
    count = QUICK if opts.quick else FULL
    n = 15 if opts.quick else 30
    with scratch(NAME) as tmp:
        demo = _database("demo", lambda: _demo(tmp / "demo"), opts, n)
        large = _database(f"{count:,} hazards", lambda: _large(tmp / "large", count), opts, n)
    worst = [max(d["pages"], key=lambda row: row["median_ms"]) for d in (demo, large)]
    ours = Side(
        "slowest console page, median",
        "ms",
        [w["median_ms"] for w in worst],
        higher_is_better=False,
    )
    peer = Side(
        "no-op console page, median",
        "ms",
        [d["noop"]["median_ms"] for d in (demo, large)],
        higher_is_better=False,
    )
    notes = [
        f"{d['label']}: slowest "
        + ", ".join(f"{r['page']} {r['median_ms']} ms" for r in d["pages"][:3])
        for d in (demo, large)
    ]
    notes += sorted({item for d in (demo, large) for item in d["left"]})
    return result(
        name=NAME,
        compares="median server time of each console page vs a no-op console page of the same app",
        opts=opts,
        rectify=ours,
        peer=peer,
        goals=[
            goal(f"slowest page median, {d['label']}", w["median_ms"], "<=", GOAL_MS, " ms")
            for d, w in zip((demo, large), worst, strict=True)
        ],
        size={"hazards": count, "fetches_per_page": n},
        notes=notes,
        extra={d["label"]: {k: v for k, v in d.items() if k != "label"} for d in (demo, large)},
    )
