"""The statistics page (/console/statistics): its chart data and table are the API's figures,
its region groups link one level down, and only the offices may open it."""

from __future__ import annotations

import json
import re
from html import unescape

from tests.console.helpers import make_people, signed_in
from tests.statistics.test_statistics import add_firm
from tests.support import World


def data_block(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="stats-data">(.*?)</script>', html, re.S)
    assert found, "no data block"
    return json.loads(unescape(found.group(1)))


def test_the_page_shows_the_apis_figures_and_drills_down(world: World) -> None:
    add_firm(world, "420103", 41, "化工")
    world.report(title="配电箱无防护")
    world.report("dispatcher_city", enterprise_id=add_firm(world, "420103", 42, "化工"))
    make_people(world)
    signed_in(world.client, "auditor")  # 钱审计, city scope
    r = world.client.get("/console/statistics")
    assert r.status_code == 200, r.text
    api = world.client.get(
        "/api/v1/statistics", params={"group_by": "region"}, headers=world.h("auditor")
    ).json()
    assert data_block(r.text)["groups"] == api["groups"]
    assert "统计分析" in r.text and 'id="chart-groups"' in r.text
    assert "/console/statistics?group_by=region&amp;region=420102" in r.text  # drill-down link
    r = world.client.get("/console/statistics", params={"group_by": "region", "region": "420102"})
    assert r.status_code == 200
    county = data_block(r.text)["groups"]
    assert [g["key"] for g in county] == ["420102"]
    r = world.client.get("/console/statistics", params={"group_by": "grade", "from": "2026-01-01"})
    assert r.status_code == 200 and "一般事故隐患" in r.text
    for bad in ({"region": "420202"}, {"group_by": "colour"}, {"from": "yesterday"}):
        r = world.client.get("/console/statistics", params=bad)
        assert r.status_code in (400, 422), bad  # the console's error page, not a 500
        assert r.headers["content-type"].startswith("text/html"), bad


def test_an_enterprise_may_not_open_it(world: World) -> None:
    make_people(world)
    signed_in(world.client, "enterprise")
    assert world.client.get("/console/statistics").status_code == 403
