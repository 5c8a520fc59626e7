"""The auditor's pages (issue 10): replay at an instant typed in China time, a hazard's chain with
each event's status, verification of every chain, checkpoints written and checked from the page,
the export download; in Chinese, in scope (404), for the right roles (403), escaped."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from rectify.audit.checkpoints import list_checkpoints
from rectify.timers.policy import CHINA_TZ
from tests.audit.helpers import tamper, update_event
from tests.console.helpers import People, page_csrf, signed_in
from tests.support import ELSEWHERE

CHECKPOINTS = "/console/audit/checkpoints"


def local(moment) -> str:  # noqa: ANN001
    """What a datetime-local field sends: China time, no offset."""
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M:%S")


def text_of(html: str) -> str:
    """The page's text without tags (what a person reads), whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -- replay --------------------------------------------------------------------------------


def test_replay_between_two_events_shows_the_earlier_state(people: People) -> None:
    world, client = people.world, people.client
    hid = world.report()["id"]
    reported_at = world.clock.now
    world.clock.advance(hours=2)
    world.fire(hid, "dispatcher", "assign", assignee="王工")
    world.clock.advance(hours=1)
    signed_in(client, "auditor")

    between = local(reported_at + timedelta(hours=1))  # as the datetime-local form sends it
    r = client.get(f"/console/hazards/{hid}/replay", params={"at": between})
    assert r.status_code == 200, r.text
    page = text_of(r.text)
    assert "整改主线 已登记" in page and "已交办" not in page.split("其后的下一个事件")[0]
    assert "已重放 1 个事件（该隐患共 2 个）" in page
    assert "第 1 号 · 登记隐患" in page and "第 2 号 · 交办" in page  # on either side of it
    assert "与记录一致" in page
    assert f'value="{between}"' in r.text  # the form keeps the instant, in China time
    assert f'href="/console/hazards/{hid}"' in r.text  # back to the hazard page

    # ISO 8601 with an offset in the query, and no instant at all (now): the later state.
    iso = (reported_at + timedelta(hours=2, minutes=30)).isoformat()
    for params in ({"at": iso}, {}):
        page = text_of(client.get(f"/console/hazards/{hid}/replay", params=params).text)
        assert "整改主线 已交办" in page and "已重放 2 个事件" in page


def test_an_instant_outside_the_hazards_life_is_refused_beside_the_field(people: People) -> None:
    world, client = people.world, people.client
    hid = world.report()["id"]
    signed_in(client, "dispatcher")
    cases = {
        local(world.clock.now + timedelta(days=1)): "不能晚于现在",
        local(world.clock.now - timedelta(days=1)): "早于隐患登记的时间",
        "2026-02-30T10:00": "没有这个日期",
        "明天": "请按北京时间填写",
        "2026-03-01T10:00:00": "早于隐患登记的时间",
    }
    for typed, words in cases.items():
        r = client.get(f"/console/hazards/{hid}/replay", params={"at": typed})
        assert r.status_code == 422, typed
        assert re.search(r'id="at-error"[^>]*>[^<]*' + words, r.text), (typed, r.text)
        assert 'aria-invalid="true"' in r.text and "已重放" not in r.text


def test_replay_is_for_dispatchers_and_auditors_in_scope(people: People) -> None:
    world, client = people.world, people.client
    hid = world.report()["id"]
    people.add("auditor_far", "auditor", "外区审计", region_code=ELSEWHERE)
    people.add("firm_b", "enterprise", "乙企业", enterprise_id=world.other_firm)
    for who, status in {
        "dispatcher": 200,
        "auditor": 200,
        "inspector": 403,
        "enterprise": 403,  # its own hazard: in scope, not its role
        "admin": 403,
        "auditor_far": 404,  # outside the region: it does not exist
        "firm_b": 404,
    }.items():
        signed_in(client, who)
        r = client.get(f"/console/hazards/{hid}/replay")
        assert r.status_code == status, (who, r.status_code)
        if status == 404:
            assert "不存在，或不在您的职责范围内" in r.text and "消防通道" not in r.text
        if status == 403:
            assert "无权" in r.text


# -- the chain of one hazard, and verify ------------------------------------------------------


def test_a_tampered_event_is_broken_on_the_chain_page_and_the_verify_page(people: People) -> None:
    world, client = people.world, people.client
    sound, hid = world.to("assigned"), world.to("rectifying")
    signed_in(client, "auditor")
    page = text_of(client.get(f"/console/hazards/{hid}/chain").text)
    assert "链条完好：3 个事件逐一重新计算哈希" in page
    assert page.count("校验通过") == 3
    assert "第 2 号 交办" in page and "第 3 号 接收并提交治理方案" in page
    assert "已登记 → 已交办" in page  # each event's move, by its Chinese labels

    # Behind the service's back: the assignee of event 2 changed.
    payload = '{"assignee":"李四","deadline":"2026-03-09T01:00:00+00:00"}'
    update_event(world.ctx, hid, 2, payload=payload)
    r = client.get(f"/console/hazards/{hid}/chain")
    assert r.status_code == 200
    broken = re.search(r'<li id="event-2" class="event event-broken">(.*?)</li>', r.text, re.S)
    assert broken, r.text
    assert "断裂" in broken.group(1) and "哈希不符：事件在写入之后被改动过" in broken.group(1)
    assert "hash mismatch: the event was changed after it was written" in broken.group(1)
    assert "李四" in broken.group(1)  # the content shown is what the database holds now
    assert re.search(r'<li id="event-3" class="event event-ok">', r.text)
    assert "链条断裂：发现 1 处问题" in text_of(r.text)
    assert "链条完好" in text_of(client.get(f"/console/hazards/{sound}/chain").text)

    r = client.get("/console/audit/verify")
    assert r.status_code == 200
    page = text_of(r.text)
    assert "发现 1 处断裂" in page and "校验的链（隐患） 2" in page
    row = re.search(r'<tr class="broken">(.*?)</tr>', r.text, re.S)
    assert row and f'href="/console/hazards/{hid}/chain">#{hid}</a>' in row.group(1)
    assert "哈希不符" in row.group(1) and "原文：hash mismatch" in row.group(1)


def test_every_kind_of_break_reads_in_chinese(people: People) -> None:
    """Each tampering verify knows of, at once, each on its own hazard: the chain page (the
    same walk as verify) names the same breaks, and every reason has its Chinese."""
    from rectify.audit.checkpoints import write_checkpoint
    from rectify.audit.verify import check_line, hazard_chain, verify
    from rectify.console.audit_words import UNKNOWN_BREAK, break_zh
    from tests.audit.test_verify import CASES

    world, ctx = people.world, people.world.ctx
    ids = {name: world.to("closed") for name in CASES}
    line = write_checkpoint(ctx=ctx, actor="auditor:test").line
    for name, (change, _, _) in CASES.items():
        change(ctx, ids[name])
    tamper(ctx, "UPDATE checkpoints SET merkle_root = :r", r="0" * 64)  # and a checkpoint
    result = verify(ctx=ctx)
    reasons = [b["reason"] for b in result["broken"]]
    checked = check_line(ctx=ctx, line=line)
    reasons += checked["problems"] + [b["reason"] for b in checked["broken"]]
    assert len(reasons) > len(CASES)
    untranslated = [r for r in reasons if break_zh(r) == UNKNOWN_BREAK]
    assert untranslated == []
    for name, hid in ids.items():
        ours = hazard_chain(ctx=ctx, hazard_id=hid)
        theirs = [b for b in result["broken"] if b["hazard_id"] == hid and not b["checkpoint"]]
        assert ours["broken"] == theirs, name
        assert ours["ok"] is False
    signed_in(people.client, "auditor")
    page = people.client.get("/console/audit/verify").text
    assert UNKNOWN_BREAK not in page and "整条链已被删除" in page and "检查点 #1" in page


def test_divergences_read_in_chinese_with_their_event(people: People) -> None:
    world, client, ctx = people.world, people.client, people.world.ctx
    hid = world.to("rectifying")
    # The stored `to` of event 2 and `from` of event 3 rewritten, and the hazard row moved
    # without an event.
    branches = {"supervision": "none", "production": "normal", "judicial": "none"}
    update_event(ctx, hid, 2, to_state={"state": "rectifying"} | branches)
    update_event(ctx, hid, 3, from_state={"state": "reported"} | branches)
    tamper(ctx, "UPDATE hazards SET verify_failures = 3 WHERE id = :h", h=hid)
    signed_in(client, "auditor")
    r = client.get(f"/console/hazards/{hid}/replay")
    assert r.status_code == 200
    page = text_of(r.text)
    assert "处不一致" in page
    assert "记录的新状态是 整改主线「整改中」，流程定义给出的却是 整改主线「已交办」" in page
    assert "记录的原状态是 整改主线「已登记」，重放到此处却是 整改主线「已交办」" in page
    assert "哈希不符" in page
    assert "隐患记录中的「验收不合格次数」为 3，按历史事件重放却得出 0" in page
    assert "见英文原文" not in page
    assert f"/console/hazards/{hid}/chain?offset=0#event-2" in r.text


# -- checkpoints ---------------------------------------------------------------------------


def test_a_checkpoint_written_from_the_page_shows_its_line_and_checks(people: People) -> None:
    world, client, ctx = people.world, people.client, people.world.ctx
    hid = world.to("assigned")
    signed_in(client, "auditor")
    token = page_csrf(client, CHECKPOINTS)
    assert client.post(CHECKPOINTS, data={}).status_code == 403  # no CSRF token: nothing done
    with ctx.db.session() as session:
        assert list_checkpoints(session=session) == []

    r = client.post(CHECKPOINTS, data={"csrf_token": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"{CHECKPOINTS}?written=1")
    r = client.get(r.headers["location"])
    with ctx.db.session() as session:
        (cp,) = list_checkpoints(session=session)
    assert cp.created_by == "auditor:钱审计"
    assert "已写入检查点 #1" in r.text
    assert '<pre class="line" id="line-1" tabindex="0"' in r.text and cp.line in r.text
    assert '<script src="/console/static/audit.js"></script>' in r.text

    check = f"{CHECKPOINTS}/check"
    r = client.post(check, data={"csrf_token": token, "line": f"  {cp.line}\n"})
    assert r.status_code == 200 and "核对通过：检查点 #1 与数据库一致" in r.text
    r = client.post(check, data={"csrf_token": token, "line": cp.line[:-3]})
    assert r.status_code == 422 and re.search(r'id="line-error"[^>]*>这不是完整的', r.text)
    assert cp.line[:-3] in r.text  # what was pasted stays in the field

    tamper(ctx, "DELETE FROM events WHERE hazard_id = :h AND hazard_seq = 2", h=hid)
    tamper(ctx, "UPDATE hazards SET version = 1 WHERE id = :h", h=hid)
    page = text_of(client.post(check, data={"csrf_token": token, "line": cp.line}).text)
    assert "核对未通过" in page and "有链被删除、截断或改写" in page
    assert "该事件已不存在：这条链被截断或删除" in page


# -- export --------------------------------------------------------------------------------


def test_the_export_downloads_through_the_export_service_with_its_trailer(people: People) -> None:
    world, client = people.world, people.client
    first = world.to("assigned")  # 2 events at T0
    world.clock.advance(days=2)
    world.to("reported")  # 1 event two days later
    signed_in(client, "auditor")
    assert client.get("/console/audit/export").status_code == 200

    everything = client.get("/console/audit/export/download", params={"format": "jsonl"})
    assert everything.status_code == 200
    assert everything.headers["content-disposition"].startswith("attachment; filename=")
    lines = everything.text.splitlines()
    trailer = json.loads(lines[-1])["trailer"]
    assert trailer["events"] == 3 == len(lines) - 1

    start, end = world.clock.now - timedelta(days=3), world.clock.now - timedelta(days=1)
    window = {"from": local(start), "to": local(end), "format": "csv"}
    r = client.get("/console/audit/export/download", params=window)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = r.text.splitlines()
    assert rows[0].startswith("\ufeff序号 seq") and rows[-1].startswith("尾行 trailer,events=2,")
    assert all(f",{first}," in row for row in rows[1:-1])

    backwards = {"from": local(end), "to": local(start), "format": "csv"}
    r = client.get("/console/audit/export/download", params=backwards)
    assert r.status_code == 422 and re.search(
        r'id="to-error"[^>]*>结束时间必须晚于开始时间', r.text
    )
    assert f'value="{local(end)}"' in r.text  # what was typed comes back
    r = client.get("/console/audit/export/download", params={"format": "xml"})
    assert r.status_code == 422 and "请选择 JSON Lines 或 CSV" in r.text


def test_the_audit_pages_are_for_auditors_and_admins(people: People) -> None:
    client = people.client
    pages = ["/console/audit/", "/console/audit/verify", CHECKPOINTS, "/console/audit/export"]
    pages.append("/console/audit/export/download?format=jsonl")
    for who in ("dispatcher", "inspector", "enterprise"):
        signed_in(client, who)
        for path in pages:
            r = client.get(path)
            assert r.status_code == 403 and "您的角色无权使用此页面" in r.text, (who, path)
        token = page_csrf(client, "/console/")
        assert client.post(CHECKPOINTS, data={"csrf_token": token}).status_code == 403
    for who in ("auditor", "admin"):
        signed_in(client, who)
        for path in pages:
            assert client.get(path).status_code == 200, (who, path)


def test_the_auditors_overview_shows_the_newest_checkpoint_and_events_in_scope(
    people: People,
) -> None:
    world, client = people.world, people.client
    ours = world.report(title="<b>配电箱</b>未接地")["id"]
    theirs = world.report(who="dispatcher_elsewhere", enterprise_id=world.other_firm)["id"]
    signed_in(client, "auditor")
    r = client.get("/console/audit/")
    page = text_of(r.text)
    assert "还没有检查点" in page
    assert f"#{ours} <b>配电箱</b>未接地" not in r.text  # escaped
    assert f"#{ours} &lt;b&gt;配电箱&lt;/b&gt;未接地" in r.text
    assert f"/console/hazards/{theirs}" not in r.text  # another region's hazard: not listed
    assert "登记隐患" in page and "（执法人员）" in page

    client.post(CHECKPOINTS, data={"csrf_token": page_csrf(client, CHECKPOINTS)})
    world.fire(ours, "dispatcher", "assign", assignee="王工")
    page = text_of(client.get("/console/audit/").text)
    assert "检查点 #1" in page and "此后又新增 1 个事件" in page

    r = client.get("/console/audit/find", params={"hazard_id": f" {ours} "}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"/console/hazards/{ours}/chain")
    assert client.get("/console/audit/find", params={"hazard_id": "x1"}).status_code == 400


def test_audit_pages_hold_no_inline_script_and_escape_what_people_typed(people: People) -> None:
    world, client = people.world, people.client
    hid = world.report(title='<script>alert("x")</script>')["id"]
    signed_in(client, "auditor")
    for path in (f"/console/hazards/{hid}/chain", f"/console/hazards/{hid}/replay"):
        html = client.get(path).text
        assert "<script>alert" not in html and "&lt;script&gt;alert" in html
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path
