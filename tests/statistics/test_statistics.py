"""GET /api/v1/statistics: every figure equals a computation written here in plain Python over
the raw hazard rows (docs/STATISTICS.md's definitions), by each grouping, at each region level
(drill-down), in scope; bad parameters are 422s naming the parameter."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rectify.enterprises.models import Enterprise
from rectify.hazards.row import HAZARDS
from tests.support import World, credit_code

CHINA = timedelta(hours=8)
INTS = (
    "reported",
    "open",
    "closed",
    "dismissed",
    "overdue",
    "closed_on_time",
    "closed_late",
    "major_reported",
    "major_closed",
    "major_dismissed",
    "repeat",
    "duplicates",
)


# -- the independent computation -------------------------------------------------------------


def raw_rows(world: World) -> list[dict[str, Any]]:
    with world.ctx.db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(HAZARDS)).mappings()]


def figures(rows: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """One group's figures, straight from the definitions."""
    closed = [r for r in rows if r["state"] == "closed"]
    on_time = [
        r
        for r in closed
        if r["deadline"] is None or (r["rectified_at"] or r["closed_at"]) <= r["deadline"]
    ]
    overdue = [
        r
        for r in rows
        if r["state"] in ("assigned", "rectifying") and r["deadline"] and r["deadline"] < now
    ]
    major = [r for r in rows if r["grade"] == "major"]
    out = {
        "reported": len(rows),
        "open": sum(r["state"] not in ("closed", "dismissed") for r in rows),
        "closed": len(closed),
        "dismissed": sum(r["state"] == "dismissed" for r in rows),
        "overdue": len(overdue),
        "closed_on_time": len(on_time),
        "closed_late": len(closed) - len(on_time),
        "major_reported": len(major),
        "major_closed": sum(r["state"] == "closed" for r in major),
        "major_dismissed": sum(r["state"] == "dismissed" for r in major),
        "repeat": sum(r["recurrence_of"] is not None and r["state"] != "dismissed" for r in rows),
        "duplicates": sum(
            r["recurrence_of"] is not None and r["state"] == "dismissed" for r in rows
        ),
    }
    due = len(closed) + len(overdue)
    out["on_time_rate"] = None if due == 0 else round(len(on_time) / due, 4)
    signable = out["major_reported"] - out["major_dismissed"]
    out["major_signoff_rate"] = None if signable == 0 else round(out["major_closed"] / signable, 4)
    seconds = [(r["closed_at"] - r["discovered_at"]).total_seconds() for r in closed]
    if seconds:
        tenths = sorted(math.floor(s / 8640) for s in seconds)
        out["mean_days_to_close"] = round(sum(seconds) / len(seconds) / 86400, 2)
        out["p90_days_to_close"] = tenths[math.ceil(0.9 * len(tenths)) - 1] / 10
    else:
        out["mean_days_to_close"] = out["p90_days_to_close"] = None
    return out


def expected(
    rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], now: datetime
) -> dict[Any, dict[str, Any]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    return {k: figures(v, now) for k, v in groups.items()}


def month(r: dict[str, Any]) -> str:
    return (r["discovered_at"] + CHINA).strftime("%Y-%m")


def assert_equal(answer: dict[str, Any], want: dict[Any, dict[str, Any]]) -> None:
    got = {g["key"]: g for g in answer["groups"]}
    assert set(got) == set(want), (sorted(map(str, got)), sorted(map(str, want)))
    for k, w in want.items():
        for name, value in w.items():
            if name in ("mean_days_to_close",) and value is not None:
                assert got[k][name] == pytest.approx(value, abs=0.006), (k, name)
            else:
                assert got[k][name] == value, (k, name, got[k][name], value)


# -- the scene -------------------------------------------------------------------------------


def add_firm(world: World, region: str, serial: int, industry: str) -> int:
    with world.ctx.db.write() as session:
        firm = Enterprise(
            name=f"统计企业{serial}",
            credit_code=credit_code(region[:6], serial),
            industry=industry,
            region_code=region,
        )
        session.add(firm)
        session.flush()
        return int(firm.id)


def close(world: World, hid: int, grade: str = "general", accepted: bool = False) -> None:
    steps = ("rectifying", "awaiting_verification", "verified", "closed")
    for state in steps[accepted:]:
        world._step(hid, state, grade)


@pytest.fixture
def scene(world: World) -> World:
    """Hazards in four regions, every state the figures count, across two months."""
    county2 = add_firm(world, "420103", 31, "化工")
    township = add_firm(world, "420102001", 32, "商贸")
    w = world
    # home district 420102
    h1 = w.report(title="配电箱无防护", location="二层配电室")["id"]
    w.fire(h1, "dispatcher", "assign", assignee="王工")
    w.clock.advance(hours=30, minutes=7)
    close(w, h1)  # on time, about 1.3 days
    h2 = w.report(title="储罐区未设防火堤", grade="major", location="储罐区")["id"]
    w.fire(h2, "dispatcher", "assign", assignee="王工")
    w.clock.advance(days=2, minutes=13)
    close(w, h2, "major")
    h3 = w.report(title="灭火器过期", location="仓库")["id"]
    w.fire(h3, "dispatcher", "assign", assignee="王工")
    h8 = w.report(title="安全出口上锁", location="后门")["id"]
    w.fire(h8, "dispatcher", "assign", assignee="王工")
    w.fire(h8, "enterprise", "accept", plan=w.plan())
    w.clock.advance(days=40, minutes=29)  # past both deadlines: h3 overdue, h8 will be late
    close(w, h8, accepted=True)
    repeat = w.report(title="配电箱未接地", location="二层 配电室")  # same place as h1
    assert repeat["recurrence_of"] == h1
    # another city 420202
    original = w.report("inspector_elsewhere", enterprise_id=w.other_firm, title="脚手架松动")
    dup = w.report("inspector_elsewhere", enterprise_id=w.other_firm, title="外架连墙件缺失")
    w.fire(dup["id"], "dispatcher_elsewhere", "dismiss", reason="重复", duplicate_of=original["id"])
    # another county of the city, and a township of the home district, next month
    w.clock.advance(days=30)
    w.report("dispatcher_city", enterprise_id=county2, title="反应釜温控失灵", industry="化工")
    w.report("dispatcher_city", enterprise_id=township, title="货架倾斜", grade="major")
    return w


def stats(world: World, who: str, expect: int = 200, **params: Any) -> dict[str, Any]:
    r = world.client.get("/api/v1/statistics", params=params, headers=world.h(who))
    assert r.status_code == expect, r.text
    return r.json()


# -- the tests -------------------------------------------------------------------------------


def test_figures_equal_an_independent_computation_by_each_grouping(scene: World) -> None:
    rows, now = raw_rows(scene), scene.clock.now
    keys: dict[str, Callable[[dict[str, Any]], Any]] = {
        "industry": lambda r: r["industry"],
        "enterprise": lambda r: r["enterprise_id"],
        "grade": lambda r: r["grade"],
        "source": lambda r: r["source"],
        "month": month,
    }
    for group_by, key in keys.items():
        answer = stats(scene, "admin", group_by=group_by)
        assert_equal(answer, expected(rows, key, now))
        assert answer["total"]["reported"] == len(rows)
    # the scene holds what each figure counts, so none is trivially zero
    total = figures(rows, now)
    for name in ("closed_on_time", "closed_late", "overdue", "dismissed", "repeat", "duplicates"):
        assert total[name] >= 1, name
    assert stats(scene, "admin", group_by="grade")["total"] | {"key": None} == {
        **stats(scene, "admin", group_by="grade")["total"],
        **{k: v for k, v in total.items() if k in INTS},
    }
    labels = {g["key"]: g["label"] for g in stats(scene, "admin", group_by="month")["groups"]}
    assert labels == {"2026-03": "2026年3月", "2026-04": "2026年4月", "2026-05": "2026年5月"}


def test_region_groups_the_level_below_the_scope_and_drills_down(scene: World) -> None:
    rows, now = raw_rows(scene), scene.clock.now

    def by(length: int, within: str = "") -> dict[Any, dict[str, Any]]:
        mine = [r for r in rows if r["region_code"].startswith(within)]
        pad = {2: "0000", 4: "00"}.get(length, "")
        return expected(mine, lambda r: r["region_code"][:length] + pad, now)

    country = stats(scene, "admin", group_by="region")
    assert (country["level"], country["region"]) == ("province", None)
    assert_equal(country, by(2))
    province = stats(scene, "dispatcher_province", group_by="region")
    assert province["level"] == "city"
    assert_equal(province, by(4))
    assert {g["key"] for g in province["groups"]} == {"420100", "420200"}
    # drill down from the province into the city by the group's key
    city = stats(scene, "dispatcher_province", group_by="region", region="420100")
    assert (city["level"], city["region"]) == ("county", "420100")
    assert_equal(city, by(6, "4201"))
    assert city == stats(scene, "dispatcher_city", group_by="region") | {"as_of": city["as_of"]}
    county = stats(scene, "dispatcher", group_by="region")
    assert county["level"] == "township"
    assert_equal(county, by(9, "420102"))
    assert {g["key"] for g in county["groups"]} == {"420102", "420102001"}


def test_scope_and_filters(scene: World) -> None:
    rows, now = raw_rows(scene), scene.clock.now
    elsewhere = stats(scene, "dispatcher_elsewhere", group_by="grade")
    want = expected(
        [r for r in rows if r["region_code"].startswith("4202")], lambda r: r["grade"], now
    )
    assert_equal(elsewhere, want)
    # a region outside the scope is the parameter's error, not someone else's figures
    refused = stats(scene, "dispatcher", 422, group_by="grade", region="420202")
    assert [e["field"] for e in refused["errors"]] == ["region"]
    # from/to are China dates of discovery; the filters narrow the rows
    may = date(2026, 5, 1)
    answer = stats(scene, "admin", group_by="grade", **{"from": "2026-05-01"}, to="2026-05-31")
    mine = [r for r in rows if (r["discovered_at"] + CHINA).date() >= may]
    assert len(mine) == 2
    assert_equal(answer, expected(mine, lambda r: r["grade"], now))
    for name, value in (("grade", "major"), ("industry", "化工"), ("state", "closed")):
        answer = stats(scene, "admin", group_by="source", **{name: value})
        mine = [r for r in rows if r[name] == value]
        assert mine
        assert_equal(answer, expected(mine, lambda r: r["source"], now))
    # an enterprise has no statistics route; no token is 401
    stats(scene, "enterprise", 403, group_by="grade")
    assert scene.client.get("/api/v1/statistics?group_by=grade").status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "group_by"),
        ({"group_by": "colour"}, "group_by"),
        ({"group_by": "grade", "from": "2026-13-01"}, "from"),
        ({"group_by": "grade", "to": "20260301"}, "to"),
        ({"group_by": "grade", "from": "2026-04-02", "to": "2026-04-01"}, "to"),
        ({"group_by": "grade", "region": "12"}, "region"),
        ({"group_by": "grade", "grade": "huge"}, "grade"),
        ({"group_by": "grade", "state": "nowhere"}, "state"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    world: World, params: dict[str, str], field: str
) -> None:
    r = world.client.get("/api/v1/statistics", params=params, headers=world.h("dispatcher"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"].split(".")[-1] == field for e in r.json()["errors"]), r.json()


def test_nothing_to_count_is_an_empty_answer(world: World) -> None:
    answer = stats(world, "dispatcher", group_by="region")
    assert answer["groups"] == []
    assert answer["total"]["reported"] == 0
    assert answer["total"]["on_time_rate"] is None
    assert answer["as_of"].startswith(datetime(2026, 3, 2, 1, 0, tzinfo=UTC).isoformat()[:16])


def test_the_openapi_description_defines_each_rate(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    described = spec["paths"]["/api/v1/statistics"]["get"]["description"]
    for words in ("按期整改率", "重大隐患销号率", "p90_days_to_close", "drill down"):
        assert words in described, words
