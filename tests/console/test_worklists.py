"""Each role's landing page (issue 10): the dispatcher's worklists hold exactly the hazards they
should (overdue, due soon, waiting too long for verification, extension requests, listed), with
filters and pages, and never another region's; the enterprise's tasks; the inspector's queue;
reporting a hazard from the console through the API's own service."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from rectify.context import Context
from rectify.demo import PASSWORD as DEMO_PASSWORD
from rectify.demo import load_demo_if_empty
from rectify.hazards.bulk import seed_assigned
from tests.console.helpers import People, csrf_of, login_page, signed_in
from tests.support import World

ROW = re.compile(r'<tr id="hazard-(\d+)"')


def ids(client: TestClient, url: str) -> list[int]:
    """The hazards listed on a page, in order."""
    r = client.get(url)
    assert r.status_code == 200, r.text
    return [int(n) for n in ROW.findall(r.text)]


def counts(html: str) -> dict[str, str]:
    found = re.findall(r'id="count-(\w+)">\s*<span class="count-number">([^<]*)</span>', html)
    return dict(found)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class District:
    """Hazards in every worklist of the home district, and one overdue elsewhere; the clock
    ends ten days after it began."""

    def __init__(self, world: World) -> None:
        w, clock = world, world.clock
        self.overdue = w.to("assigned")  # deadline: 7 days on; overdue by 3 at the end
        self.late = w.to("awaiting_verification")  # confirmed now: waiting 10 days at the end
        self.listed = w.to("assigned", grade="major", title="储罐区报警器失效")
        w.fire(self.listed, "dispatcher", "list_for_supervision", level="county", document_no="1")
        self.elsewhere = w.report(who="inspector_elsewhere", enterprise_id=w.other_firm)["id"]
        w.fire(self.elsewhere, "dispatcher_elsewhere", "assign", assignee="外区")
        clock.advance(days=5)
        self.soon = w.to("assigned")  # deadline 7 days on: due in 2 at the end
        self.extension = w.to("rectifying")
        new_deadline = (clock.now + timedelta(days=20)).isoformat()
        w.fire(
            self.extension,
            "enterprise",
            "request_extension",
            reason="设备到货需要时间",
            new_deadline=new_deadline,
        )
        clock.advance(days=4, hours=12)
        self.waiting = w.to("awaiting_verification")  # waiting half a day: not late
        clock.advance(hours=12)


@pytest.fixture
def district(people: People) -> District:
    return District(people.world)


def test_each_dispatcher_list_holds_exactly_its_hazards(people: People, district: District) -> None:
    client, d = people.client, district
    signed_in(client, "dispatcher")
    page = client.get("/console/")
    assert counts(page.text) == {
        "overdue": "1",
        "due_soon": "2",  # the one asking for more time is due today
        "verification_late": "1",
        "extensions": "1",
        "listed": "1",
        "suspended": "0",
        "transferred": "0",
    }
    assert [int(n) for n in ROW.findall(page.text)] == [d.overdue]  # the first list: overdue
    shown = text_of(page.text)
    assert "逾期 3 天" in shown and "已交办" in shown
    world = people.world
    by_deadline = sorted([d.extension, d.soon], key=lambda h: (world.get(h)["deadline"], h))
    assert ids(client, "/console/?list=due_soon") == by_deadline
    assert "还剩 2 天" in text_of(client.get("/console/?list=due_soon").text)
    assert ids(client, "/console/?list=verification_late") == [d.late]
    assert "已等待 10 天" in text_of(client.get("/console/?list=verification_late").text)
    assert ids(client, "/console/?list=extensions") == [d.extension]
    assert ids(client, "/console/?list=listed") == [d.listed]
    assert ids(client, "/console/?list=suspended") == []
    # Another region's overdue hazard is in no list, and its dispatcher sees only it.
    every = [
        n
        for name in ("overdue", "due_soon", "listed")
        for n in ids(client, f"/console/?list={name}")
    ]
    assert d.elsewhere not in every
    people.add("elsewhere", "dispatcher", "外区督办", region_code="420202")
    client.cookies.clear()
    signed_in(client, "elsewhere")
    assert ids(client, "/console/") == [d.elsewhere]
    assert ids(client, "/console/?list=listed") == []


def test_filters_narrow_the_lists_and_a_bad_filter_says_why(
    people: People, district: District
) -> None:
    client, d, world = people.client, district, people.world
    signed_in(client, "dispatcher")
    assert ids(client, "/console/?list=listed&grade=major") == [d.listed]
    assert ids(client, "/console/?list=listed&grade=general") == []
    assert ids(client, "/console/?state=rectifying") == []  # the overdue one is assigned
    assert ids(client, "/console/?state=assigned") == [d.overdue]
    assert ids(client, f"/console/?enterprise_id={world.home_firm}") == [d.overdue]
    assert ids(client, f"/console/?enterprise_id={world.other_firm}") == []  # out of scope
    firm = f"enterprise_id={world.home_firm}"
    assert ids(client, f"/console/?list=listed&{firm}") == [d.listed]
    assert ids(client, f"/console/?list=extensions&{firm}&region=420102") == [d.extension]
    assert ids(client, f"/console/?list=verification_late&{firm}&grade=general") == [d.late]
    assert ids(client, "/console/?region=420102&industry=商贸") == [d.overdue]
    assert ids(client, "/console/?industry=建筑施工") == []
    filtered = client.get("/console/?list=listed&grade=general")
    assert counts(filtered.text)["overdue"] == "1" and counts(filtered.text)["listed"] == "0"

    bad = client.get("/console/?grade=<b>x</b>&region=420202&state=nowhere")
    assert bad.status_code == 200
    page = text_of(bad.text)
    assert "请选择隐患等级" in page and "不在您的管辖范围内" in page and "请选择整改状态" in page
    assert "<b>x</b>" not in bad.text  # what was typed is escaped, never markup
    assert [int(n) for n in ROW.findall(bad.text)] == [d.overdue]  # bad filters are left out


def test_pages_of_fifty_in_deadline_order(people: People) -> None:
    world, client = people.world, people.client
    first = world.to("assigned")  # the earliest deadline
    world.clock.advance(hours=1)
    many = seed_assigned(ctx=world.ctx, enterprise_id=world.home_firm, count=60)
    world.clock.advance(days=10)
    signed_in(client, "dispatcher")
    one, two = ids(client, "/console/"), ids(client, "/console/?offset=50")
    assert one[0] == first and len(one) == 50 and len(two) == 11
    assert one + two == [first, *many]
    html = client.get("/console/?offset=50&grade=general").text
    assert 'href="/console/?grade=general"' in html  # back to the first page, filters kept
    assert "下一页" not in html and "第 51–61 项" in text_of(html)


def test_the_enterprise_sees_its_tasks_by_urgency(people: People, district: District) -> None:
    client, d = people.client, district
    signed_in(client, "enterprise")
    page = client.get("/console/")
    tasks = [int(n) for n in ROW.findall(page.text.split('id="ext-title"')[0])]
    # By deadline: the overdue one first; the late and waiting ones await the inspector.
    world = people.world
    assert tasks == sorted(
        [d.overdue, d.extension, d.soon, d.listed], key=lambda h: (world.get(h)["deadline"], h)
    )
    assert tasks[0] == d.overdue
    shown = text_of(page.text)
    assert "接收并提交治理方案：请于" in shown and "逾期 3 天" in shown
    assert "报告整改进度" in shown
    extensions = page.text.split('id="ext-title"')[1]
    assert [int(n) for n in ROW.findall(extensions)] == [d.extension]
    assert f'href="/console/hazards/{d.overdue}"' in page.text
    assert d.elsewhere not in [int(n) for n in ROW.findall(page.text)]


def test_the_inspector_queue_is_oldest_first(people: People, district: District) -> None:
    client, d = people.client, district
    signed_in(client, "inspector")
    page = client.get("/console/")
    assert [int(n) for n in ROW.findall(page.text)] == [d.late, d.waiting]
    assert "其中 1 项已等待超过 7 天" in text_of(page.text)


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_the_auditor_and_admin_pages(people: People, role: str) -> None:
    client = people.client
    signed_in(client, role)
    page = client.get("/console/")
    assert page.status_code == 200
    if role == "auditor":
        assert "查看一个隐患的链条与回放" in page.text and "audit.css" in page.text
    else:
        assert 'href="/console/admin/users"' in page.text
    assert client.get("/console/hazards/new").status_code == 403


def test_reporting_a_hazard_calls_the_service_and_keeps_input_on_errors(people: People) -> None:
    world, client = people.world, people.client
    signed_in(client, "inspector")
    form = client.get("/console/hazards/new")
    token = csrf_of(form.text)
    assert "登记隐患" in form.text
    typed = {"enterprise_id": str(world.home_firm), "grade": "major", "source": "inspection"}
    typed |= {"title": "", "industry": "危险化学品", "location": "罐区 <B>", "violation": "1"}
    r = client.post("/console/hazards/new", data={**typed, "csrf_token": token})
    assert r.status_code == 422
    assert re.search(r'id="title"[^>]*aria-invalid="true"', r.text)
    assert 'id="e-title">请填写隐患名称' in r.text
    assert 'value="罐区 &lt;B&gt;"' in r.text and 'value="危险化学品"' in r.text
    assert 'value="major" selected' in r.text and "checked" in r.text

    r = client.post(
        "/console/hazards/new",
        data={
            **typed,
            "enterprise_id": str(world.other_firm),
            "title": "外区",
            "csrf_token": token,
        },
    )
    assert r.status_code == 422 and "不在您的管辖范围内" in r.text

    r = client.post("/console/hazards/new", data={**typed, "title": "液氨管道泄漏"})
    assert r.status_code == 403  # no CSRF token: refused, nothing made
    before = client.get("/api/v1/hazards", headers=world.h("dispatcher")).json()["total"]
    assert before == 0

    r = client.post(
        "/console/hazards/new",
        data={**typed, "title": "液氨管道泄漏", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    hid = int(r.headers["location"].rsplit("/", 1)[1])
    assert r.headers["location"] == f"/console/hazards/{hid}"
    made = world.get(hid)
    assert made["title"] == "液氨管道泄漏" and made["grade"] == "major" and made["violation"]
    assert made["state"] == "reported" and made["location"] == "罐区 <B>"
    assert world.history(hid)[0]["actor"].startswith("inspector:")


def test_the_demo_fills_the_dispatchers_worklists(
    ctx: Context, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    load_demo_if_empty(ctx)
    printed = capsys.readouterr().out
    for role in ("dispatcher", "inspector", "enterprise", "auditor", "admin"):
        assert re.search(rf"{role} +username {role} +password {DEMO_PASSWORD}", printed)
    assert "rt_" in printed  # the tokens still printed beside them
    token = login_page(client)
    data = {"username": "dispatcher", "password": DEMO_PASSWORD, "csrf_token": token}
    assert client.post("/console/login", data=data, follow_redirects=False).status_code == 303
    shown = {k: int(v) for k, v in counts(client.get("/console/").text).items()}
    assert shown["overdue"] >= 2 and shown["listed"] >= 3 and shown["suspended"] >= 1
    assert shown["due_soon"] >= 1 and shown["verification_late"] == 1
    assert shown["extensions"] == 1 and shown["transferred"] == 1


def test_an_enterprise_reports_for_itself_only(people: People) -> None:
    world, client = people.world, people.client
    signed_in(client, "enterprise")
    form = client.get("/console/hazards/new")
    assert 'name="enterprise_id"' not in form.text  # no choice: its own
    assert 'value="self_check" selected' in form.text
    data = {"title": "配电房门未上锁", "grade": "general", "industry": "商贸"}
    data |= {"source": "self_check", "enterprise_id": str(world.other_firm)}
    r = client.post(
        "/console/hazards/new",
        data={**data, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    made = world.get(int(r.headers["location"].rsplit("/", 1)[1]))
    assert made["enterprise_id"] == world.home_firm and made["source"] == "self_check"
