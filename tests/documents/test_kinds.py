"""Every kind of 执法文书, issued by its step through the API, rendered, downloaded and read back
as an auditor would: the number, the enterprise and its credit code, the deadline and the legal
basis are on the page; the fonts are embedded; the page is A4; and the served bytes' SHA-256 is
the one the hazard's `document_issued` event records."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rectify.documents.snapshot import china_time
from tests.documents.helpers import (
    Officers,
    download,
    fonts_of,
    info_of,
    issued_event,
    listed,
    render,
    sha256,
    squeeze,
    text_of,
)
from tests.support import HOME, World, credit_code

CREDIT = credit_code(HOME, 1)
DUMP = os.environ.get("RECTIFY_DOCUMENTS_DUMP")


def _deadline(world: World, hid: int) -> str:
    return china_time(datetime.fromisoformat(world.get(hid)["deadline"]))


def test_every_kind_carries_number_enterprise_deadline_and_basis(
    world: World, officers: Officers
) -> None:
    hid = world.report(grade="major", title="储罐区可燃气体报警器失效", location="罐区B")["id"]
    expect: list[tuple[str, str | None, str]] = []  # (kind, deadline text, legal basis)

    world.fire(hid, "dispatcher", "assign", assignee="设备部", officers=officers.ids())
    expect.append(("rectification_order", _deadline(world, hid), "第六十五条第一款第（三）项"))
    world.fire(hid, "enterprise", "accept", plan=world.plan("major"))
    world.fire(hid, "dispatcher", "list_for_supervision", level="county", document_no="岸督-7")
    expect.append(("supervision_notice", _deadline(world, hid), "第四十一条"))
    world.fire(
        hid,
        "dispatcher",
        "order_suspension",
        order_no="岸停-2",
        reason="报警联锁失效，无法保证安全。",
        officers=[officers.a, officers.person],
    )
    expect.append(("suspension_order", _deadline(world, hid), "第一百零二条"))
    world.fire(
        hid,
        "inspector",
        "record_penalty",
        decision_no="岸罚-12",
        kind="fine",
        amount_yuan=20000,
        legal_basis="安全生产法第一百零二条",
    )
    expect.append(("penalty_decision", _deadline(world, hid), "安全生产法第一百零二条"))
    attachment = world.upload(hid, who="dispatcher", seed=5)
    world.fire(
        hid,
        "dispatcher",
        "transfer_to_judicial",
        receiving_organ="武汉市公安局江岸区分局",
        case_summary="该单位在重大事故隐患未消除的情况下擅自恢复生产。",
        officers=["张三", "李四"],
        attachments=[attachment],
    )
    filing_due = china_time(world.clock.now + timedelta(days=3))
    expect.append(("judicial_transfer", filing_due, "国务院令第310号）第三条"))
    evidence = [world.upload(hid, seed=1)]
    report = world.upload(hid, seed=2)
    world.fire(
        hid,
        "enterprise",
        "confirm_rectified",
        summary="已更换探头",
        evidence=evidence,
        evaluation_report=report,
    )
    new = world.clock.now + timedelta(days=5)
    world.fire(
        hid,
        "inspector",
        "verify_fail",
        findings="联锁仍未恢复",
        new_deadline=new.isoformat(),
        officers=[officers.b],  # with one named, the caller is the other: needs a certificate
        expect=422,
    )
    world.fire(
        hid,
        "inspector",
        "verify_fail",
        findings="联锁仍未恢复",
        new_deadline=new.isoformat(),
        officers=officers.ids(),
    )
    expect.append(("review_opinion", china_time(new), "第六十五条第一款第（三）项"))
    world.fire(
        hid,
        "enterprise",
        "confirm_rectified",
        summary="已恢复联锁",
        evidence=evidence,
        evaluation_report=report,
    )
    world.fire(hid, "inspector", "verify_pass", note="联锁已恢复。", officers=officers.ids())
    expect.append(("review_opinion", None, "第六十五条第一款第（三）项"))

    docs = listed(world, hid)
    assert [d["status"] for d in docs] == ["pending"] * len(expect)
    assert render(world) == len(expect)
    docs = listed(world, hid)
    assert [d["kind"] for d in docs] == [k for k, _, _ in expect]
    order_number = docs[0]["number"]
    for doc, (kind, deadline, basis) in zip(docs, expect, strict=True):
        assert doc["status"] == "issued" and doc["status_label"] == "已生成"
        pdf = download(world, doc["id"])
        # The auditor's proof: the served bytes are the ones the chain recorded.
        event = issued_event(world, hid, doc["id"])
        assert sha256(pdf) == doc["sha256"] == event["payload"]["sha256"]
        assert event["payload"]["number"] == doc["number"]
        assert event["payload"]["issued_by"] == doc["hazard_seq"]
        text = text_of(pdf)
        assert squeeze(doc["number"]) in text, kind
        assert doc["name"] in text
        assert "测试企业1" in text and CREDIT in text, kind
        if deadline is not None:  # a passed review sets none
            assert squeeze(deadline) in text, (kind, deadline)
        assert squeeze(basis) in text, kind
        fonts = fonts_of(pdf)
        assert fonts and all(f["emb"] == "yes" for f in fonts), fonts
        assert all("NotoS" in f["name"] for f in fonts), fonts
        assert "(A4)" in info_of(pdf)
        _kind_specific(kind, text, doc, order_number, officers)
        if DUMP:  # to look at them: RECTIFY_DOCUMENTS_DUMP=/tmp/docs, then pdftoppm -png
            Path(DUMP, f"{doc['id']:02d}-{kind}.pdf").write_bytes(pdf)
    passed = text_of(download(world, docs[-1]["id"]))
    assert "复查合格" in passed and "申请行政复议" not in passed


def _kind_specific(
    kind: str, text: str, doc: dict[str, Any], order_number: str, officers: Officers
) -> None:
    if kind == "rectification_order":
        assert "42010200001" in text and "42010200002" in text  # both 执法证号
        assert "60日内向武汉市江岸区人民政府申请行政复议" in text
        assert "6个月内依法向武汉市江岸区人民法院提起行政诉讼" in text
        assert "撤出作业人员" in text  # the demand to keep safe meanwhile
    if kind == "suspension_order":
        assert "王五" in text and "李娜" in text and "42010200003" in text
    if kind == "supervision_notice":
        assert "县级挂牌督办" in text and "武汉市江岸区安全生产委员会办公室" in text
        assert "申请行政复议" not in text
    if kind == "penalty_decision":
        assert "贰万元整" in text and "十五日内" in text and "申请行政复议" in text
    if kind == "judicial_transfer":
        assert "武汉市公安局江岸区分局" in text and "承办人：张三、李四" in text
        assert "涉嫌犯罪案件情况的调查报告" in text and "涉案物品清单" in text
        assert "有关检验报告或者鉴定结论" in text and "抄送：武汉市江岸区人民检察院" in text
    if kind == "review_opinion":
        assert squeeze(order_number) in text  # the order it reviews
        if "联锁仍未恢复" in text:  # the failed review orders again: remedies apply
            assert "申请行政复议" in text
