"""The hazard page with 执法文书 (issues 10 and 13), the officers rule on as shipped: the step's
form offers the officers who may sign, a step without them comes back with the error beside
`officers`; the page lists the documents (pending, then issued with a download link that
serves the PDF), a rendered document does not make the page stale, and a document is served
(送达) from its form."""

from __future__ import annotations

import re

from rectify.auth import people as accounts
from tests.console.helpers import PASSWORD, csrf_of, signed_in
from tests.documents.helpers import Officers, render
from tests.support import HOME, World


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def dispatcher_person(world: World) -> str:
    ctx = world.ctx
    with ctx.db.write() as session:
        accounts.create_user(
            session=session,
            settings=ctx.settings,
            role="dispatcher",
            username="zhou.du",
            display_name="周督办",
            password=PASSWORD,
            region_code=HOME,
            certificate_no="42010200009",
            now=ctx.now(),
        )
    return "zhou.du"


def post(world: World, hid: int, action: str, data: dict, version: int | None = None):  # noqa: ANN201
    page = world.client.get(f"/console/hazards/{hid}").text
    seen = int(re.search(r'name="version" value="(\d+)"', page)[1])
    body = {"csrf_token": csrf_of(page), "version": str(version or seen), **data}
    return world.client.post(f"/console/hazards/{hid}/{action}", data=body, follow_redirects=False)


def test_officers_documents_download_and_service_from_the_page(
    world: World, officers: Officers
) -> None:
    client = world.client
    signed_in(client, dispatcher_person(world))
    hid = world.report()["id"]
    page = client.get(f"/console/hazards/{hid}").text
    assign = re.search(r'id="form-assign".*?</form>', page, re.S)[0]
    assert "王五（执法人员，执法证号 42010200001）" in assign and f'value="{officers.a}"' in assign
    assert "无证人员" not in assign  # no certificate number: cannot sign
    assert '<legend>执法人员<span class="req"' in assign  # required: the rule is on

    r = post(world, hid, "triggers/assign", {"assignee": "王工"})
    assert r.status_code == 422
    form = re.search(r'id="form-assign".*?</form>', r.text, re.S)[0]
    assert re.search(r'id="assign-officers-error"[^>]*>请选择签署文书的执法人员', form)
    assert 'value="王工"' in form and world.get(hid)["state"] == "reported"

    r = post(world, hid, "triggers/assign", {"assignee": "王工", "officers": str(officers.a)})
    assert r.status_code == 303
    version = world.get(hid)["version"]
    page = text_of(client.get(f"/console/hazards/{hid}").text)
    assert "责令限期整改指令书" in page and "待生成" in page
    assert "周督办（执法证号 42010200009）、王五（执法证号 42010200001）" in page  # the history
    assert "文书种类 责令限期整改指令书" in page

    render(world)  # the renderer appends document_issued: the hazard's version moves on
    assert world.get(hid)["version"] == version + 1
    r = client.get(f"/console/hazards/{hid}")
    doc_id = int(re.search(r'href="/console/documents/(\d+)" download', r.text)[1])
    assert "已生成" in text_of(r.text)
    pdf = client.get(f"/console/documents/{doc_id}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # A page loaded before the document was rendered is not stale for that alone.
    r = post(world, hid, "triggers/dismiss", {"reason": "重复登记"}, version=version)
    assert r.status_code == 409  # dismiss is not allowed once assigned: the state, not the page
    assert "当前状态下不能「撤销」" in text_of(r.text)
    r = post(world, hid, "triggers/regrade", {"grade": "general", "basis": "x"}, version=version)
    assert r.status_code == 422 and "须写明重大事故隐患判定标准" in text_of(r.text)

    served = {"served_at": "2026-03-02T10:00", "method": "in_person", "recipient": "张经理"}
    r = post(world, hid, f"documents/{doc_id}/serve", served)
    assert r.status_code == 422  # in the future: beside its field, nothing recorded
    assert re.search(r'id="serve-\d+-served_at-error"[^>]*>不能晚于现在。', r.text)
    assert 'value="张经理"' in r.text
    world.clock.advance(hours=2)
    signed_in(client, "zhou.du")  # idle for two hours: sign in again
    r = post(world, hid, f"documents/{doc_id}/serve", served)
    assert r.status_code == 303, text_of(r.text)
    page = text_of(client.get(f"/console/hazards/{hid}").text)
    assert "直接送达，2026年3月2日 10:00，受送达人：张经理" in page
    assert world.history(hid)[-1]["trigger"] == "serve_document"
