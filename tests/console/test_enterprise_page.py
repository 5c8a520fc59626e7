"""The enterprise page (issue 10): the enterprise, its hazards (paged, linked), its penalties and
the 安全生产法第一百一十三条 flag with the counts in the policy's windows; in scope or 404."""

from __future__ import annotations

import re

from rectify.hazards.bulk import seed_assigned
from tests.console.helpers import People, signed_in
from tests.support import World


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def penalise(world: World, hid: int, n: int) -> None:
    world.fire(
        hid,
        "dispatcher",
        "record_penalty",
        decision_no=f"应急罚〔2026〕{n}号",
        kind="fine",
        amount_yuan=20000,
        legal_basis="安全生产法第一百零二条",
    )


def test_the_page_shows_hazards_penalties_and_the_article_113_flag(people: People) -> None:
    world, client = people.world, people.client
    page_url = f"/console/enterprises/{world.home_firm}"
    major = world.to("rectifying", grade="major")
    general = world.report(title="<i>楼梯</i>扶手松动")["id"]
    world.fire(general, "dispatcher", "assign", assignee="王工")
    signed_in(client, "dispatcher")

    page = text_of(client.get(page_url).text)
    assert "91420102MA4K00001" in page and "420102" in page  # credit code and region
    assert "未达到关闭条件" in page and "没有行政处罚记录" in page
    assert "近 180 天内行政处罚（达到 3 次即满足） 0 次" in page
    assert "近 365 天内行政处罚（达到 4 次即满足） 0 次" in page

    world.clock.advance(days=8)  # the general hazard's deadline (7 days) has passed
    penalise(world, major, 1)
    world.clock.advance(days=200)  # the first penalty leaves the 180-day window
    penalise(world, major, 2)
    penalise(world, major, 3)
    signed_in(client, "dispatcher")  # days later: the session had expired (idle)
    r = client.get(page_url)
    page = text_of(r.text)
    assert "未达到关闭条件" in page
    assert "近 180 天内行政处罚（达到 3 次即满足） 2 次" in page
    assert "近 365 天内行政处罚（达到 4 次即满足） 3 次" in page
    assert "应急罚〔2026〕3号" in page and "罚款" in page and "20,000.00 元" in page
    assert f'href="/console/hazards/{major}">#{major}</a>' in r.text
    assert f'href="/console/hazards/{general}">&lt;i&gt;楼梯&lt;/i&gt;扶手松动</a>' in r.text
    row = re.search(
        rf'<tr class="overdue">\s*<td data-label="编号"><a href="/console/hazards/{general}"',
        r.text,
    )
    assert row, "the overdue hazard is marked"
    assert "逾期 201 天" in page
    assert "重大事故隐患" in page and "整改中" in page

    penalise(world, major, 4)  # the third within 180 days, with an open major hazard: flagged
    page = text_of(client.get(page_url).text)
    assert "已提请关闭" in page
    assert "近 180 天内行政处罚（达到 3 次即满足） 3 次 已达到" in page
    assert "未销号的重大事故隐患 1 项 有" in page


def test_the_hazards_are_paged_newest_first_and_can_be_narrowed_to_open_ones(
    people: People,
) -> None:
    world, client = people.world, people.client
    closed = world.to("closed")
    ids = seed_assigned(ctx=world.ctx, enterprise_id=world.home_firm, count=22)
    signed_in(client, "auditor")
    url = f"/console/enterprises/{world.home_firm}"
    first = client.get(url).text
    listed = [
        int(x) for x in re.findall(r'data-label="编号"><a href="/console/hazards/(\d+)"', first)
    ]
    assert listed == sorted(ids, reverse=True)[:20]
    assert "隐患（23 项）" in text_of(first) and "第 1 页，共 2 页" in text_of(first)
    second = client.get(url, params={"offset": 20}).text
    listed = [
        int(x) for x in re.findall(r'data-label="编号"><a href="/console/hazards/(\d+)"', second)
    ]
    assert listed == [min(ids) + 1, min(ids), closed]
    open_only = client.get(url, params={"open": "1", "offset": 20}).text
    assert f"/console/hazards/{closed}" not in open_only and "未销号 22 项" in open_only


def test_another_enterprise_and_other_regions_get_404(people: People) -> None:
    world, client = people.world, people.client
    people.add("firm_b", "enterprise", "乙企业", enterprise_id=world.other_firm)
    url = f"/console/enterprises/{world.home_firm}"
    for who, status in {
        "enterprise": 200,  # its own
        "firm_b": 404,  # enterprise B opening A's page
        "inspector": 200,
        "auditor": 200,
        "admin": 200,
    }.items():
        signed_in(client, who)
        r = client.get(url)
        assert r.status_code == status, (who, r.status_code)
    signed_in(client, "firm_b")
    r = client.get(url)
    assert "不存在，或不在您的职责范围内" in r.text and "91420102MA4K00001" not in r.text
    assert client.get(f"/console/enterprises/{world.other_firm}").status_code == 200
    signed_in(client, "dispatcher")  # the home district's dispatcher: B lies elsewhere
    assert client.get(f"/console/enterprises/{world.other_firm}").status_code == 404
    assert client.get("/console/enterprises/999999").status_code == 404


def test_a_penalty_inside_the_window_edge_counts_as_the_rule_counts_it(people: People) -> None:
    """The page counts as the rule does (`penalties recorded after now - window`): a penalty
    exactly 180 days old is outside, one a minute younger inside."""
    world, client = people.world, people.client
    hid = world.to("rectifying", grade="major")
    penalise(world, hid, 1)
    world.clock.advance(days=180)
    signed_in(client, "dispatcher")  # after the clock moved (an idle session expires)
    url = f"/console/enterprises/{world.home_firm}"
    assert "近 180 天内行政处罚（达到 3 次即满足） 0 次" in text_of(client.get(url).text)
    world.clock.advance(minutes=-1)
    assert "近 180 天内行政处罚（达到 3 次即满足） 1 次" in text_of(client.get(url).text)
