"""The hazard page (issue 10): the track and branches, deadlines, evidence, documents, history
and diagram in Chinese; every trigger the caller may fire now offered as a form named after its
payload fields; a refusal (422, 409, stale page, no CSRF token) back on the page with nothing
applied; 404 outside the caller's scope; user text escaped."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from fastapi.testclient import TestClient

from rectify.console.labels import source_zh
from rectify.timers.policy import CHINA_TZ
from tests.console.helpers import People, csrf_of, signed_in
from tests.support import png


def text_of(html: str) -> str:
    """The page's text without tags (what a person reads), whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def local(moment) -> str:  # noqa: ANN001
    """What a datetime-local field sends: China time, no offset."""
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")


def forms(html: str) -> dict[str, str]:
    """Each trigger form on the page: trigger name → the form's HTML."""
    found = re.findall(
        r'<form method="post" action="/console/hazards/\d+/triggers/(\w+)"(.*?)</form>', html, re.S
    )
    return {name: body for name, body in found}


def names(form_html: str) -> set[str]:
    return set(re.findall(r'name="([^"]+)"', form_html)) - {"csrf_token", "version"}


def submit(client: TestClient, hid: int, trigger: str, data: dict, *, version: int | None = None):  # noqa: ANN201
    page = client.get(f"/console/hazards/{hid}")
    assert page.status_code == 200, page.text
    token = csrf_of(page.text)
    if version is None:
        version = int(re.search(r'name="version" value="(\d+)"', page.text)[1])
    body = {"csrf_token": token, "version": str(version), **data}
    return client.post(
        f"/console/hazards/{hid}/triggers/{trigger}", data=body, follow_redirects=False
    )


def test_the_page_shows_the_hazard_and_offers_the_dispatchers_triggers(people: People) -> None:
    world, client = people.world, people.client
    hid = world.report(title="配电柜<script>alert(1)</script>未接地")["id"]
    signed_in(client, "dispatcher")
    r = client.get(f"/console/hazards/{hid}")
    assert r.status_code == 200, r.text
    page = text_of(r.text)
    assert "整改主线" in page and "挂牌督办" in page and "生产状态" in page and "移交司法" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "<script>alert(1)" not in r.text
    offered = forms(r.text)
    assert set(offered) >= {"assign", "dismiss", "regrade", "record_penalty"}
    assert {"assignee", "deadline", "officers"} <= names(offered["assign"])
    assert ">交办</button>" in offered["assign"]
    assert '<option value="major">重大事故隐患</option>' in offered["regrade"]  # a choice
    assert "stateDiagram-v2" in r.text and "class main_reported,supervision_none" in r.text
    with open("/tmp/hz/page.html", "w") as f:
        f.write(r.text)


def test_each_role_is_offered_what_it_may_fire_now(people: People) -> None:
    world, client = people.world, people.client
    hid = world.to("assigned", grade="major")
    signed_in(client, "enterprise")
    offered = forms(client.get(f"/console/hazards/{hid}").text)
    assert "accept" in offered and "assign" not in offered
    six = {f"plan.{k}" for k in ("goals", "measures", "funds_yuan", "responsible_person")}
    six |= {"plan.deadline", "plan.contingency_plan"}
    assert names(offered["accept"]) == six
    assert offered["accept"].count("aria-required") == 6  # a major hazard's six elements
    assert ">接收并提交治理方案</button>" in offered["accept"]

    signed_in(client, "auditor")
    r = client.get(f"/console/hazards/{hid}")
    assert forms(r.text) == {} and "您现在没有可以进行的操作" in text_of(r.text)
    assert 'id="upload-form"' not in r.text  # evidence_added's roles do not include auditors

    world._step(hid, "rectifying", "major")
    world._step(hid, "awaiting_verification", "major")
    signed_in(client, "inspector")
    r = client.get(f"/console/hazards/{hid}")
    offered = forms(r.text)
    assert {"verify_pass", "verify_fail"} <= set(offered)
    assert names(offered["verify_fail"]) == {"findings", "new_deadline", "officers"}
    assert 'id="upload-form"' in r.text and 'capture="environment"' in r.text


def test_a_trigger_fired_from_its_form_applies_through_the_service(people: People) -> None:
    world, client = people.world, people.client
    hid = world.report()["id"]
    signed_in(client, "dispatcher")
    deadline = world.clock.now + timedelta(days=10)
    r = submit(client, hid, "assign", {"assignee": "王工", "deadline": local(deadline)})
    assert r.status_code == 303 and r.headers["location"] == f"/console/hazards/{hid}"
    hazard = world.get(hid)
    assert hazard["state"] == "assigned" and hazard["assignee"] == "王工"
    assert hazard["deadline"].startswith(deadline.replace(second=0).strftime("%Y-%m-%dT%H:%M"))
    page = text_of(client.get(f"/console/hazards/{hid}").text)
    china = deadline.astimezone(CHINA_TZ)
    assert f"{china.year}年{china.month}月{china.day}日 {china:%H:%M}" in page  # China time
    event = world.history(hid)[-1]
    assert event["trigger"] == "assign" and event["actor"] == "dispatcher:王督办"
    assert "交办" in page and event["hash"] in page  # the timeline: what, and the event hash


def test_a_422_comes_back_beside_its_field_with_what_was_typed(people: People) -> None:
    world, client = people.world, people.client
    hid = world.to("assigned", grade="major")
    signed_in(client, "enterprise")
    typed = {
        "plan.measures": "更换<b>配电柜</b>接地线\r\n第二行",
        "plan.funds_yuan": "5000",
        "plan.responsible_person": "李强",
        "plan.deadline": local(world.clock.now - timedelta(days=1)),  # in the past
        "plan.contingency_plan": "停止作业",
    }  # no goals
    r = submit(client, hid, "accept", typed)
    assert r.status_code == 422
    form = forms(r.text)["accept"]
    assert re.search(
        r'id="accept-plan-goals-error"[^>]*>重大事故隐患的治理方案必须写明此项。', form
    )
    assert re.search(r'id="accept-plan-deadline-error"[^>]*>必须晚于现在。', form)
    assert (
        'id="accept-plan-goals" name="plan.goals" required aria-required="true" aria-invalid="true"'
        in form
    )
    assert "更换&lt;b&gt;配电柜&lt;/b&gt;接地线\r\n第二行</textarea>" in form  # kept, escaped
    assert 'value="5000"' in form and 'value="李强"' in form
    assert world.get(hid)["state"] == "assigned" and len(world.history(hid)) == 2  # nothing

    r = submit(client, hid, "accept", typed | {"plan.funds_yuan": "五千"})
    assert r.status_code == 422  # read by the form itself, before the service
    assert "请填写数字" in forms(r.text)["accept"]


def test_a_stale_page_is_refused_and_a_csrf_less_post_changes_nothing(people: People) -> None:
    world, client = people.world, people.client
    hid = world.to("rectifying")
    signed_in(client, "enterprise")
    page = client.get(f"/console/hazards/{hid}").text
    token, version = csrf_of(page), world.get(hid)["version"]
    world.fire(hid, "enterprise", "report_progress", note="进行中")  # someone else, meanwhile
    data = {"csrf_token": token, "version": str(version), "note": "一半", "percent": "50"}
    r = client.post(f"/console/hazards/{hid}/triggers/report_progress", data=data)
    assert r.status_code == 409
    assert "已被他人更新" in text_of(r.text)
    assert ">一半</textarea>" in forms(r.text)["report_progress"]  # what was typed is kept
    assert [e["trigger"] for e in world.history(hid)].count("report_progress") == 1

    r = client.post(
        f"/console/hazards/{hid}/triggers/report_progress",
        data={"version": str(version + 1), "note": "一半"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "未做任何更改" in text_of(r.text)
    assert [e["trigger"] for e in world.history(hid)].count("report_progress") == 1

    r = submit(client, hid, "report_progress", {"note": "一半", "percent": "50"})
    assert r.status_code == 303
    last = world.history(hid)[-1]
    assert last["trigger"] == "report_progress" and last["payload"] == {
        "note": "一半",
        "percent": 50,
    }


def test_a_guard_refusal_is_a_409_in_chinese_and_nothing_applied(people: People) -> None:
    world, client = people.world, people.client
    hid = world.to("rectifying")
    world.clock.advance(days=30)  # past the deadline: no extension may be asked
    signed_in(client, "enterprise")
    later = local(world.clock.now + timedelta(days=30))
    r = submit(client, hid, "request_extension", {"reason": "设备未到", "new_deadline": later})
    assert r.status_code == 409
    assert "整改期限已过，不能再申请延期" in text_of(r.text)
    # The rule's source, in Chinese, beside the refusal (issue 14): v2 cites it on the guard.
    assert "依据：本系统规范第2节（本系统默认，非法定）" in text_of(r.text)
    assert world.get(hid)["pending_extension"] is None


def test_sources_read_in_chinese() -> None:
    assert (
        source_zh("安全生产法 art. 65, art. 102 [law]") == "安全生产法第65条、第102条（法律法规）"
    )
    assert (
        source_zh("国务院令第310号 art. 3, 5, 6 [law]") == "国务院令第310号第3、5、6条（法律法规）"
    )
    assert source_zh("13710: progress within 3 days [practice]") == "13710（工作实践）"
    assert (
        source_zh("安全生产法 art. 65: after review [law]; 16号令 art. 23 [unsure]")
        == "安全生产法第65条（法律法规）；16号令第23条（出处待核实）"
    )


def test_out_of_scope_is_404_for_the_page_and_its_forms(people: People) -> None:
    world, client = people.world, people.client
    people.add("firm_b", "enterprise", "外企用户", enterprise_id=world.other_firm)
    hid = world.to("assigned")
    signed_in(client, "firm_b")
    assert client.get(f"/console/hazards/{hid}").status_code == 404
    token = csrf_of(client.get("/console/").text)
    r = client.post(
        f"/console/hazards/{hid}/triggers/accept",
        data={"csrf_token": token, "version": "2", "plan.measures": "x"},
    )
    assert r.status_code == 404
    assert client.get(f"/console/hazards/{hid}/evidence/{'0' * 64}").status_code == 404
    assert world.get(hid)["state"] == "assigned"


def test_evidence_uploads_from_the_form_with_and_without_script(people: People) -> None:
    world, client = people.world, people.client
    hid = world.to("rectifying")
    signed_in(client, "enterprise")
    token = csrf_of(client.get(f"/console/hazards/{hid}").text)
    # Without script: the token and the stage, then every chosen file, in one body.
    files = [("file", ("现场1.png", io.BytesIO(png(1)), "image/png"))]
    files.append(("file", ("现场2.png", io.BytesIO(png(2)), "image/png")))
    r = client.post(
        f"/console/hazards/{hid}/evidence",
        data={"csrf_token": token, "stage": "after"},
        files=files,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("?uploaded=2#evidence")
    # The script: one file per request, the token in a header.
    r = client.post(
        f"/console/hazards/{hid}/evidence?stage=before",
        files={"file": ("旧照.png", io.BytesIO(png(3)), "image/png")},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert r.status_code == 201 and r.json() == {"uploaded": 1}
    names_ = sorted(
        e["payload"]["filename"] for e in world.history(hid) if e["trigger"] == "evidence_added"
    )
    assert names_ == ["【整改前】旧照.png", "【整改后】现场1.png", "【整改后】现场2.png"]
    page = client.get(f"/console/hazards/{hid}")
    text = text_of(page.text)
    assert "证据材料（3）" in text and "整改前" in text and "整改后" in text
    sha = re.search(rf'<img src="/console/hazards/{hid}/evidence/([0-9a-f]{{64}})"', page.text)[1]
    image = client.get(f"/console/hazards/{hid}/evidence/{sha}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    # Without a token nothing is kept.
    r = client.post(
        f"/console/hazards/{hid}/evidence",
        files={"file": ("x.png", io.BytesIO(png(4)), "image/png")},
    )
    assert r.status_code == 403
    assert len([e for e in world.history(hid) if e["trigger"] == "evidence_added"]) == 3


def test_extension_penalty_plan_and_timers_through_the_forms(people: People) -> None:
    world, client = people.world, people.client
    hid = world.to("rectifying")
    original = world.get(hid)["deadline"]
    signed_in(client, "enterprise")
    page = text_of(client.get(f"/console/hazards/{hid}").text)
    assert "采取的方法和措施 清理通道" in page and "负责治理的机构和人员 李强" in page  # the plan
    assert "整改期限届满" in page and "整改期限临近提醒" in page  # pending timers

    later = world.clock.now + timedelta(days=30)
    r = submit(
        client, hid, "request_extension", {"reason": "设备未到货", "new_deadline": local(later)}
    )
    assert r.status_code == 303
    page = text_of(client.get(f"/console/hazards/{hid}").text)
    assert "待审批的延期申请" in page and "设备未到货" in page

    signed_in(client, "dispatcher")
    r = submit(client, hid, "decide_extension", {"approved": "true", "note": "同意"})
    assert r.status_code == 303
    hazard = world.get(hid)
    assert hazard["deadline"] != original and hazard["pending_extension"] is None
    r = submit(
        client,
        hid,
        "record_penalty",
        {
            "decision_no": "岸应急罚〔2026〕9号",
            "kind": "fine",
            "amount_yuan": "20,000",
            "legal_basis": "安全生产法第一百零二条",
        },
    )
    assert r.status_code == 303
    page = text_of(client.get(f"/console/hazards/{hid}").text)
    assert "期限变更" in page and "审批延期" in page  # the original and the extension
    c = later.astimezone(CHINA_TZ)
    assert f"当前期限 {c.year}年{c.month}月{c.day}日 {c:%H:%M}" in page
    assert "岸应急罚〔2026〕9号 罚款 20,000.00 元" in page
    assert world.history(hid)[-1]["payload"]["amount_yuan"] == 20000


def test_a_file_that_is_not_a_photo_or_pdf_is_refused_on_the_page(people: People) -> None:
    world, client = people.world, people.client
    hid = world.to("rectifying")
    signed_in(client, "enterprise")
    token = csrf_of(client.get(f"/console/hazards/{hid}").text)
    r = client.post(
        f"/console/hazards/{hid}/evidence",
        data={"csrf_token": token, "stage": "after"},
        files={"file": ("病毒.png", io.BytesIO(b"<script>not an image</script>"), "image/png")},
    )
    assert r.status_code == 415
    assert "只能上传照片（JPEG、PNG、WebP、HEIC）或 PDF 文件" in text_of(r.text)
    assert 'id="upload-form"' in r.text  # the same page, the form again
    r = client.post(
        f"/console/hazards/{hid}/evidence",
        files={"file": ("x.txt", io.BytesIO(b"plain text"), "text/plain")},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert r.status_code == 415 and "PDF" in r.json()["message"]
    assert not [e for e in world.history(hid) if e["trigger"] == "evidence_added"]


def test_an_upload_over_the_limit_is_a_page_in_chinese(people: People) -> None:
    world, client = people.world, people.client
    hid = world.to("rectifying")
    signed_in(client, "enterprise")
    token = csrf_of(client.get(f"/console/hazards/{hid}").text)
    big = png(5) + b"\0" * (world.ctx.settings.evidence_max_bytes + 70 * 1024)
    r = client.post(
        f"/console/hazards/{hid}/evidence",
        data={"csrf_token": token, "stage": "after"},
        files={"file": ("大图.png", io.BytesIO(big), "image/png")},
    )
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "上传的内容超过了 256 KiB 的上限，未保存任何文件" in text_of(r.text)
    r = client.post(
        f"/console/hazards/{hid}/evidence",
        files={"file": ("大图.png", io.BytesIO(big), "image/png")},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert not [e for e in world.history(hid) if e["trigger"] == "evidence_added"]
