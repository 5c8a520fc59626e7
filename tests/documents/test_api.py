"""The documents' endpoints: a hazard's list (pending until rendered, then issued with the
SHA-256 its event records), the PDF (scope through its hazard, 404 outside, 409 while pending),
the officers a step must name (422 naming payload.officers), the service (送达), the console's
download, and the history still replaying and verifying with the new events."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import unquote

from rectify.documents.worker import DocumentWorker
from rectify.timers.policy import CHINA_TZ
from tests.console.helpers import LOGIN, PASSWORD
from tests.documents.helpers import (
    Officers,
    download,
    issued_event,
    listed,
    rectifying,
    render,
    sha256,
    text_of,
)
from tests.support import World


def test_listed_pending_then_issued_and_downloaded(world: World, officers: Officers) -> None:
    hid = world.report()["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工", officers=officers.ids())
    [doc] = listed(world, hid)
    assert doc["status"] == "pending" and doc["status_label"] == "待生成"
    assert doc["sha256"] is None and doc["href"] is None
    assert doc["name"] == "责令限期整改指令书" and doc["number"] == "鄂汉岸应急责改〔2026〕1号"
    assert doc["hazard_seq"] == 2 and doc["trigger"] == "assign"
    r = world.client.get(f"/api/v1/documents/{doc['id']}", headers=world.h("dispatcher"))
    assert r.status_code == 409 and "待生成" in r.json()["detail"]

    assert render(world) == 1
    assert render(world) == 0  # once
    [doc] = listed(world, hid, who="enterprise")  # the enterprise sees its own documents
    assert doc["status"] == "issued" and doc["href"] == f"/api/v1/documents/{doc['id']}"
    r = world.client.get(doc["href"], headers=world.h("enterprise"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-content-type-options"] == "nosniff"
    disposition = unquote(r.headers["content-disposition"])
    assert disposition.startswith("attachment;") and "鄂汉岸应急责改〔2026〕1号.pdf" in disposition
    assert r.content.startswith(b"%PDF-")
    event = issued_event(world, hid, doc["id"])
    assert event["actor"] == "system:scheduler" and event["hazard_seq"] == doc["issued_seq"] == 3
    assert sha256(r.content) == event["payload"]["sha256"] == doc["sha256"]
    assert event["payload"]["size"] == len(r.content) == doc["size"]


def test_outside_scope_is_404_and_unknown_is_404(world: World, officers: Officers) -> None:
    hid = world.report()["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工", officers=officers.ids())
    render(world)
    [doc] = listed(world, hid)
    for who in ("dispatcher_elsewhere", "enterprise_other", "auditor_elsewhere"):
        r = world.client.get(f"/api/v1/documents/{doc['id']}", headers=world.h(who))
        assert r.status_code == 404, who
        r = world.client.get(f"/api/v1/hazards/{hid}/documents", headers=world.h(who))
        assert r.status_code == 404, who
    assert world.client.get("/api/v1/documents/999", headers=world.h("admin")).status_code == 404
    assert world.client.get(f"/api/v1/documents/{doc['id']}").status_code == 401
    assert download(world, doc["id"], who="auditor")  # the city's auditor sees the district


def test_officers_named_checked_and_recorded(world: World, officers: Officers) -> None:
    hid = world.report()["id"]

    def refused(officers_: object, field: str, words: str) -> None:
        payload = {"assignee": "王工", "officers": officers_}
        r = world.client.post(
            f"/api/v1/hazards/{hid}/transitions",
            json={"trigger": "assign", "payload": payload},
            headers=world.h("dispatcher"),
        )
        assert r.status_code == 422, r.text
        [error] = r.json()["errors"]
        assert error["field"] == field and words in error["message"], error

    missing = {"trigger": "assign", "payload": {"assignee": "王工"}}
    r = world.client.post(
        f"/api/v1/hazards/{hid}/transitions", json=missing, headers=world.h("dispatcher")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "payload.officers"
    refused([officers.a], "payload.officers", "执法证号")  # the dispatcher has none
    refused([officers.a, "无证人员"], "payload.officers.1", "no such person")
    refused([officers.a, officers.a], "payload.officers", "2 different officers")
    refused([], "payload.officers", "at least 1")
    refused([officers.a, officers.b, 3], "payload.officers", "at most 2")
    with world.ctx.db.write() as session:  # 无证人员 by id: no certificate number
        from sqlmodel import select

        from rectify.auth.models import Principal

        bare = session.exec(select(Principal).where(Principal.name == "无证人员")).one()
        elsewhere = session.exec(
            select(Principal).where(Principal.name == "inspector_elsewhere")
        ).one()
    refused([officers.a, bare.id], "payload.officers.1", "执法证号")
    refused([officers.a, elsewhere.id], "payload.officers.1", "outside their region")
    world.fire(hid, "dispatcher", "assign", assignee="王工", officers=[officers.b, "LI.NA"])
    document = world.history(hid)[-1]["payload"]["document"]
    assert [o["name"] for o in document["officers"]] == ["赵六", "李娜"]
    assert [o["certificate_no"] for o in document["officers"]] == ["42010200002", "42010200003"]
    # An officer with a certificate names one colleague; they are the other.
    sha = world.upload(hid, seed=3)
    world.fire(hid, "enterprise", "accept", plan=world.plan())
    world.fire(hid, "enterprise", "confirm_rectified", summary="已整改", evidence=[sha])
    world.fire(hid, "officer_a", "verify_pass", note="合格", officers=[officers.b])
    document = world.history(hid)[-1]["payload"]["document"]
    assert [o["id"] for o in document["officers"]] == [officers.a, officers.b]
    render(world)
    text = text_of(download(world, listed(world, hid)[-1]["id"]))
    assert "王五" in text and "42010200001" in text and "赵六" in text


def test_without_the_rule_the_caller_alone_signs(world: World, officers: Officers) -> None:
    world.ctx.settings = world.ctx.settings.model_copy(update={"documents_require_officers": False})
    hid = world.report()["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工")
    assert "officers" not in world.history(hid)[-1]["payload"]["document"]
    render(world)
    assert "执法证号" in text_of(download(world, listed(world, hid)[0]["id"]))  # blank lines


def test_served_once_with_method_date_and_recipient(world: World, officers: Officers) -> None:
    hid = world.report()["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工", officers=officers.ids())
    [doc] = listed(world, hid)
    url = f"/api/v1/documents/{doc['id']}/serve"
    served = {
        "served_at": world.clock.now.isoformat(),
        "method": "in_person",
        "recipient": "张经理",
    }
    r = world.client.post(url, json=served, headers=world.h("inspector"))
    assert r.status_code == 409  # not rendered yet: nothing to hand over
    render(world)
    world.clock.advance(hours=2)
    late = {**served, "served_at": (world.clock.now + timedelta(hours=1)).isoformat()}
    assert world.client.post(url, json=late, headers=world.h("inspector")).status_code == 422
    early = {**served, "served_at": (world.clock.now - timedelta(days=1)).isoformat()}
    r = world.client.post(url, json=early, headers=world.h("inspector"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "served_at"
    bad = {**served, "method": "by_pigeon"}
    r = world.client.post(url, json=bad, headers=world.h("inspector"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "method"
    assert world.client.post(url, json=served, headers=world.h("enterprise")).status_code == 403
    assert (
        world.client.post(url, json=served, headers=world.h("dispatcher_elsewhere")).status_code
        == 404
    )
    r = world.client.post(url, json=served, headers=world.h("inspector"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["served"]["method_label"] == "直接送达" and body["served"]["recipient"] == "张经理"
    assert listed(world, hid)[0]["served"] == body["served"]
    event = world.history(hid)[-1]
    assert event["trigger"] == "serve_document" and event["actor"] == "inspector:inspector"
    assert event["payload"]["number"] == doc["number"] and event["payload"]["method"] == "in_person"
    assert event["hazard_seq"] == body["served"]["hazard_seq"]
    assert world.client.post(url, json=served, headers=world.h("inspector")).status_code == 409
    # Not a trigger of /transitions: it is recorded by its own endpoint only.
    payload = {"document_id": doc["id"], "number": doc["number"], **served}
    world.fire(hid, "inspector", "serve_document", expect=422, **payload)
    world.fire(hid, "inspector", "document_issued", expect=422)


def test_history_replays_and_verifies_with_documents(world: World, officers: Officers) -> None:
    hid = rectifying(world, officers)
    world.fire(hid, "dispatcher", "list_for_supervision", level="county", document_no="岸督-1")
    render(world)
    [first, _] = listed(world, hid)
    served = {"served_at": world.clock.now.isoformat(), "method": "post", "recipient": "收发室"}
    r = world.client.post(
        f"/api/v1/documents/{first['id']}/serve", json=served, headers=world.h("dispatcher")
    )
    assert r.status_code == 200
    world.clock.advance(seconds=1)
    replay = world.client.get(f"/api/v1/hazards/{hid}/replay", headers=world.h("auditor")).json()
    assert replay["consistent"], replay["divergences"]
    verify = world.client.get("/api/v1/audit/verify", headers=world.h("auditor")).json()
    assert verify["ok"], verify


def test_a_final_hazard_still_gets_its_document(world: World, officers: Officers) -> None:
    """The step that ends a hazard may issue a document; it is rendered after the end."""
    hid = rectifying(world, officers)
    world.fire(
        hid,
        "dispatcher",
        "order_suspension",
        order_no="停-1",
        reason="无法保证安全",
        officers=officers.ids(),
    )
    world.fire(hid, "dispatcher", "order_closure", decision_no="关-1", reason="整顿无望")
    today = world.clock.now.astimezone(CHINA_TZ).date().isoformat()
    world.fire(
        hid,
        "dispatcher",
        "decide_closure",  # workflow v2: the government decides the closure the office asked for
        decision="approved",
        decided_on=today,
        decision_no="岸政关-1",
        deciding_body="武汉市江岸区人民政府",
    )
    assert world.get(hid)["state"] == "closed"
    assert render(world) == 2
    assert [d["status"] for d in listed(world, hid)] == ["issued", "issued"]


def test_console_serves_the_pdf_to_a_signed_in_person(world: World, officers: Officers) -> None:
    hid = world.report()["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工", officers=officers.ids())
    render(world)
    [doc] = listed(world, hid)
    client = world.client
    page = client.get(LOGIN)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(
        LOGIN,
        data={"username": "li.na", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303), r.text
    r = client.get(f"/console/documents/{doc['id']}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert sha256(r.content) == doc["sha256"]
    assert client.get("/console/documents/999").status_code == 404
    # A bearer token does not open the console.
    client.cookies.clear()
    r = client.get(
        f"/console/documents/{doc['id']}", headers=world.h("dispatcher"), follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith(LOGIN)


def test_the_worker_renders_right_after_commit(world: World, officers: Officers) -> None:
    worker = DocumentWorker(world.ctx).start()
    try:
        hid = world.report()["id"]
        world.fire(hid, "dispatcher", "assign", assignee="王工", officers=officers.ids())
        deadline = time.monotonic() + 20
        while listed(world, hid)[0]["status"] != "issued" and time.monotonic() < deadline:
            time.sleep(0.05)  # a real thread: no clock to advance
        assert listed(world, hid)[0]["status"] == "issued"
    finally:
        worker.stop()


def test_console_partial_lists_documents(world: World, officers: Officers) -> None:
    from rectify.console.render import ENV
    from rectify.documents.service import for_page

    hid = rectifying(world, officers)
    world.fire(hid, "dispatcher", "list_for_supervision", level="county", document_no="岸督-1")
    render(world)
    caller = _dispatcher(world)
    with world.ctx.db.engine.connect() as connection:
        docs = for_page(ctx=world.ctx, connection=connection, caller=caller, hazard_id=hid)
    html = ENV.get_template("documents/_list.html").render(documents=docs)
    assert "责令限期整改指令书" in html and "鄂汉岸应急责改〔2026〕1号" in html
    assert f'href="/console/documents/{docs[0].id}"' in html and "未送达" in html
    assert "2026年3月2日" in html and docs[1].sha256[:12] in html  # type: ignore[index]


def _dispatcher(world: World):  # noqa: ANN202
    from rectify.auth import service as auth

    with world.ctx.db.session() as session:
        return auth.authenticate(session=session, token=world.tokens["dispatcher"])
