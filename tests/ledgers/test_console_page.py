"""The console's ledgers page without a browser: the kinds and links, a download through the
same service as the API (the signed-in person's scope), and a refused form shown again with the
reason beside each field."""

from __future__ import annotations

import csv
import io

import pytest

from rectify.config import Settings
from tests.console.helpers import People, make_people, signed_in
from tests.ledgers.helpers import journey
from tests.support import World


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"argon2_memory_kib": 1024, "argon2_time_cost": 1})


@pytest.fixture
def people(world: World) -> People:
    return make_people(world)


def test_the_page_lists_the_ledgers_and_downloads_in_scope(world: World, people: People) -> None:
    mine = journey(world, "home", "assigned", title="本区隐患")
    journey(world, "other", "assigned", title="外市隐患")
    client = world.client
    assert client.get("/console/ledgers", follow_redirects=False).status_code in (302, 303, 307)
    signed_in(client, "dispatcher")
    page = client.get("/console/ledgers")
    assert page.status_code == 200
    for name in ("隐患排查治理台账", "进度清单", "责任清单", "监管执法和案件查办清单"):
        assert name in page.text
    assert 'href="/console/ledgers/download?kind=supervision&amp;format=csv"' in page.text
    assert '<a href="/console/ledgers">台账</a>' in page.text  # the nav line
    r = client.get("/console/ledgers/download", params={"kind": "hazards", "format": "csv"})
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [(int(row[0]), row[8]) for row in rows[1:]] == [(mine, "本区隐患")]


def test_a_refused_form_says_why_beside_each_field(world: World, people: People) -> None:
    signed_in(world.client, "dispatcher")
    params = {
        "kind": "salaries",
        "format": "pdf",
        "from": "2026-02-30",
        "region": "42",
        "grade": "huge",
    }
    r = world.client.get("/console/ledgers/download", params=params)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    for words in ("请选择一种台账", "请选择 Excel", "请按 年-月-日", "6位或9位行政区划代码"):
        assert words in r.text
    assert 'aria-invalid="true" aria-describedby="from-error"' in r.text
    r = world.client.get(
        "/console/ledgers/download", params={"from": "2026-03-05", "to": "2026-03-01"}
    )
    assert r.status_code == 422 and "结束日期不能早于开始日期" in r.text
    assert 'value="2026-03-05"' in r.text  # what was typed stays
