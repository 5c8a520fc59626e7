"""Importing a hazard ledger: the template, a sheet with bad rows (each bad cell refused with
its row and column, nothing imported), a dry run, a good sheet (history, deadlines, timers), and
a past deadline (overdue at once, then the escalation ladder)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from rectify.config import Settings
from rectify.enterprises.models import Enterprise
from rectify.hazards.row import HAZARDS
from rectify.timers.engine import catch_up
from tests.support import World

URL = "/api/v1/hazards/import"
LIMIT = 64 * 1024  # the sheets here are about 10 KiB
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"import_max_bytes": LIMIT})


def template(world: World) -> Any:
    r = world.client.get(f"{URL}/template", headers=world.h("dispatcher"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    return load_workbook(io.BytesIO(r.content))


def sheet(world: World, rows: list[list[Any]]) -> bytes:
    book = template(world)
    for row in rows:
        book.worksheets[0].append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def send(world: World, data: bytes, who: str = "dispatcher", **params: str) -> Any:
    files = {"file": ("台账.xlsx", io.BytesIO(data), XLSX)}
    return world.client.post(URL, files=files, params=params, headers=world.h(who))


def firm_code(world: World, firm: int) -> str:
    with world.ctx.db.session() as session:
        return session.get(Enterprise, firm).credit_code


def count(world: World) -> int:
    with world.ctx.db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(HAZARDS)).scalar_one()


def good_rows(world: World) -> list[list[Any]]:
    code = firm_code(world, world.home_firm)
    later = (world.clock.now + timedelta(days=20)).strftime("%Y-%m-%d")
    return [
        [code, "配电箱无防护", "二层配电箱门缺失", "一般事故隐患", "", "执法检查", "二层", "否"]
        + ["2026-02-20", "王工", later],
        [code, "储罐区未设防火堤", "", "重大", "危险化学品", "企业自查", "储罐区", "是"]
        + [datetime(2026, 2, 25), "李强", datetime(2026, 2, 28, 18, 0)],  # a past deadline
        [code, "灭火器过期", "", "一般", "商贸", "群众举报", "仓库", ""]
        + ["2026-03-01", "", ""],  # no deadline: left reported
    ]


def test_the_template_has_the_chinese_headers_and_notes(world: World) -> None:
    book = template(world)
    first = book.worksheets[0]
    headers = [c.value for c in first[1]]
    assert headers[:3] == ["统一社会信用代码", "隐患名称", "隐患描述"]
    assert "整改期限" in headers and "发现日期" in headers
    assert first.freeze_panes == "A2"
    assert book.sheetnames[1] == "填写说明"
    r = world.client.get(f"{URL}/template", headers=world.h("inspector"))
    assert r.status_code == 403


def test_bad_rows_are_each_refused_with_row_and_column_and_nothing_is_imported(
    world: World,
) -> None:
    rows = good_rows(world)
    code = rows[0][0]
    bad = [
        rows[0],
        ["91420102MA4K99999X", "无此企业", "", "一般", "", "执法检查", "", "", "2026-02-01"],
        [code, "", "", "中等", "", "路人", "", "也许", "2026/02/01"],
        [
            code,
            "期限早于发现",
            "",
            "一般",
            "",
            "执法检查",
            "",
            "",
            "2026-02-10",
            "王工",
            "2026-02-01",
        ],
        [code, "缺责任人", "", "一般", "", "执法检查", "", "", "2026-02-10", "", "2026-04-01"],
        [code, "远期", "", "一般", "", "执法检查", "", "", "2026-02-10", "王工", "2062-04-01"],
        [code, "未来发现", "", "一般", "", "执法检查", "", "", "2026-12-01"],
        [
            firm_code(world, world.other_firm),
            "他辖区",
            "",
            "一般",
            "",
            "执法检查",
            "",
            "",
            "2026-02-01",
        ],
    ]
    before = count(world)
    r = send(world, sheet(world, bad))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    cells = {(e["row"], e["column"]) for e in r.json()["errors"]}
    assert cells == {
        (3, "统一社会信用代码"),
        (4, "隐患名称"),
        (4, "隐患等级"),
        (4, "隐患来源"),
        (4, "是否违法行为"),
        (4, "发现日期"),
        (5, "整改期限"),
        (6, "整改责任人"),
        (7, "整改期限"),
        (8, "发现日期"),
        (9, "统一社会信用代码"),
    }
    assert all(e["message"] for e in r.json()["errors"])
    assert count(world) == before  # not even the good first row


def test_a_dry_run_checks_only(world: World) -> None:
    r = send(world, sheet(world, good_rows(world)), dry_run="true")
    assert r.status_code == 200, r.text
    assert r.json() == {"dry_run": True, "rows": 3, "imported": 0, "ids": []}
    assert count(world) == 0


def test_a_good_sheet_is_imported_with_history_deadlines_and_timers(world: World) -> None:
    r = send(world, sheet(world, good_rows(world)))
    assert r.status_code == 201, r.text
    ids = r.json()["ids"]
    assert r.json()["imported"] == len(ids) == 3
    first, major, left = (world.get(i) for i in ids)
    assert (first["state"], first["assignee"], first["industry"]) == (
        "assigned",
        "王工",
        "危险化学品",
    )
    assert first["discovered_at"].startswith("2026-02-19T16:00")  # China midnight, in UTC
    assert first["deadline"].startswith("2026-03-22T16:00")  # the end of that China day
    assert {t["kind"] for t in first["pending_timers"]} >= {"rectification", "reminder"}
    assert (major["grade"], major["violation"]) == ("major", True)
    assert left["state"] == "reported" and left["deadline"] is None
    history = world.history(ids[0])
    assert [e["trigger"] for e in history] == ["report", "assign"]
    assert history[0]["payload"]["imported"] is True
    assert history[1]["prev_hash"] == history[0]["hash"]
    assert history[1]["payload"]["imported"] is True
    r = world.client.get("/api/v1/audit/verify", headers=world.h("auditor"))
    assert r.status_code == 200 and r.json()["ok"] is True, r.text


def test_a_past_deadline_is_overdue_at_once_and_escalates(world: World) -> None:
    r = send(world, sheet(world, good_rows(world)))
    major = r.json()["ids"][1]
    hazard = world.get(major)
    assert hazard["overdue"] is True and hazard["overdue_seconds"] > 0
    listed = world.client.get(
        "/api/v1/hazards", params={"overdue": "true"}, headers=world.h("dispatcher")
    ).json()
    assert [h["id"] for h in listed["items"]] == [major]
    catch_up(ctx=world.ctx)  # the timer engine's next tick
    triggers = [e["trigger"] for e in world.history(major)]
    assert "deadline_missed" in triggers
    assert {"escalation_notice", "list_for_supervision"} & set(triggers), triggers


def test_not_a_sheet_and_the_wrong_headers_are_422_on_the_file(world: World) -> None:
    for data in (b"not a zip", _wrong_headers()):
        r = send(world, data)
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["file"]
    r = world.client.post(URL, headers=world.h("dispatcher"), json={})
    assert r.status_code == 422
    assert send(world, b"x", who="inspector").status_code == 403
    assert world.client.post(URL, files={"file": ("a.xlsx", b"x")}).status_code == 401


def _wrong_headers() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["名称", "等级"])
    book.active.append(["x", "一般"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_upload_is_bounded_and_a_stranger_is_refused_before_it_is_read(world: World) -> None:
    r = send(world, b"x" * (LIMIT + 128 * 1024))
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    files = {"file": ("a.xlsx", io.BytesIO(b"x" * (LIMIT + 128 * 1024)), XLSX)}
    assert world.client.post(URL, files=files).status_code == 401
    assert count(world) == 0
