"""The ledgers (台账), opened as a person would: every kind as XLSX with openpyxl and as CSV
with the csv module, headers and rows checked against hazards made through the API; scope,
filters and bad filters."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import openpyxl
import pytest

from rectify.calendar.days import CHINA_TZ
from rectify.documents.service import render_pending
from rectify.ledgers.kinds import KINDS
from rectify.timers.engine import catch_up
from tests.ledgers.helpers import journey
from tests.support import World


def china(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(CHINA_TZ).replace(tzinfo=None, microsecond=0)


@dataclass
class Scene:
    world: World
    closed: int  # general, extended once, verified and closed
    progressing: int  # general, rectifying, one progress report
    listed: int  # major, listed by hand, penalised (document served), verified: delisted
    late: int  # awaiting verification past its time: a 追责问责 entry
    elsewhere: int  # the other city's

    @property
    def home(self) -> list[int]:
        return [self.closed, self.progressing, self.listed, self.late]


@pytest.fixture
def scene(world: World) -> Scene:
    w = world
    closed = w.to("rectifying", title="配电箱未接地", industry="商贸")
    later = datetime.fromisoformat(w.get(closed)["deadline"]) + timedelta(days=4)
    w.fire(
        closed, "enterprise", "request_extension", reason="备件未到", new_deadline=later.isoformat()
    )
    w.fire(closed, "dispatcher", "decide_extension", approved=True, note="同意")
    for state in ("awaiting_verification", "verified", "closed"):
        w._step(closed, state, "general")
    progressing = w.to("rectifying", title="灭火器过期", industry="建材")
    w.fire(progressing, "enterprise", "report_progress", note="已采购新灭火器", percent=60)
    listed = w.to("rectifying", grade="major", title="液氨储罐泄漏报警失效", industry="危险化学品")
    w.fire(
        listed, "dispatcher", "list_for_supervision", level="county", document_no="岸督〔2026〕7号"
    )
    penalty = {"decision_no": "岸罚〔2026〕3号", "kind": "fine", "amount_yuan": 20000}
    w.fire(listed, "dispatcher", "record_penalty", legal_basis="安全生产法第一百零二条", **penalty)
    w._step(listed, "awaiting_verification", "major")
    w._step(listed, "verified", "major")  # verify_pass takes the listing down (摘牌)
    late = w.to("awaiting_verification", title="安全出口锁闭")
    elsewhere = journey(w, "other", "rectifying", title="别处的隐患")
    w.clock.advance(days=10, seconds=1)
    catch_up(ctx=w.ctx, limit=50)  # verification overdue: an entry for `late`
    render_pending(ctx=w.ctx)
    return Scene(w, closed, progressing, listed, late, elsewhere)


def get(world: World, path: str, who: str = "dispatcher", **params: Any) -> Any:
    return world.client.get(f"/api/v1/ledgers{path}", params=params, headers=world.h(who))


def xlsx(world: World, kind: str, who: str = "dispatcher", **params: Any) -> Any:
    r = get(world, f"/{kind}", who, format="xlsx", **params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"]
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet.freeze_panes == "A2"  # the header stays in view
    assert sheet.title == KINDS[kind].title
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [c.header for c in KINDS[kind].columns]
    for i, column in enumerate(KINDS[kind].columns):
        assert (
            sheet.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width == column.width
        )
        if column.type in ("date", "datetime"):
            for cell in sheet.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
                assert cell[0].value is None or cell[0].is_date, (column.header, cell[0].value)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def table(world: World, kind: str, who: str = "dispatcher", **params: Any) -> list[dict[str, str]]:
    r = get(world, f"/{kind}", who, format="csv", **params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads it as UTF-8
    reader = csv.reader(io.StringIO(r.content.decode("utf-8-sig")))
    header = next(reader)
    assert header == [c.header for c in KINDS[kind].columns]
    return [dict(zip(header, row, strict=True)) for row in reader]


def by_id(rows: list[dict[str, Any]], key: str = "隐患编号") -> dict[int, dict[str, Any]]:
    return {int(r[key]): r for r in rows}


def today(world: World) -> date:
    return world.clock.now.astimezone(CHINA_TZ).date()


def test_the_list_of_ledgers_names_each_in_chinese(world: World) -> None:
    r = get(world, "", "enterprise")
    assert r.status_code == 200
    listed = {k["kind"]: k["name"] for k in r.json()}
    assert listed == {
        "hazards": "隐患排查治理台账",
        "progress": "进度清单",
        "responsibility": "责任清单",
        "enforcement": "监管执法和案件查办清单",
        "accountability": "追责问责清单",
        "supervision": "督办台账",
    }


def test_the_hazards_ledger(scene: Scene) -> None:
    w = scene.world
    rows = by_id(xlsx(w, "hazards"))
    assert sorted(rows) == sorted(scene.home)  # the other city's hazard is out of scope
    closed, seen = rows[scene.closed], w.get(scene.closed)
    assert closed["企业名称"] == "测试企业1" and closed["统一社会信用代码"].startswith("91420102")
    assert closed["行业"] == "商贸" and closed["行政区划"] == "420102"
    assert closed["隐患来源"] == "执法检查" and closed["隐患等级"] == "一般事故隐患"
    assert closed["发现日期"].date() == date(2026, 3, 2)
    assert closed["隐患名称"] == "配电箱未接地" and closed["整改责任人"] == "李强"
    assert closed["原定整改期限"] == china(seen["original_deadline"])
    assert closed["当前整改期限"] == china(seen["deadline"])
    assert closed["当前整改期限"] - closed["原定整改期限"] == timedelta(days=4)
    assert closed["批准延期次数"] == 1 and "（批准，dispatcher:dispatcher" in closed["延期情况"]
    assert closed["状态"] == "已销号" and closed["逾期天数"] is None
    assert closed["销号日期"].date() == date(2026, 3, 2)
    assert rows[scene.listed]["隐患等级"] == "重大事故隐患"
    assert rows[scene.progressing]["销号日期"] is None
    assert rows[scene.progressing]["逾期天数"] == 4  # deadline 7 days after T0, now T0 + 10d 1s
    # The same ledger as CSV: the same rows, as text.
    text = by_id(table(w, "hazards"))
    assert sorted(text) == sorted(rows)
    assert text[scene.closed]["原定整改期限"] == f"{closed['原定整改期限']:%Y-%m-%d %H:%M}"
    assert text[scene.closed]["发现日期"] == "2026-03-02"
    assert text[scene.closed]["逾期天数"] == "" and text[scene.progressing]["逾期天数"] == "4"


def test_progress_and_responsibility_list_the_open_hazards(scene: Scene) -> None:
    w = scene.world
    progress = by_id(xlsx(w, "progress"))
    assert sorted(progress) == sorted([scene.progressing, scene.listed, scene.late])
    row = progress[scene.progressing]
    assert row["最近进展"] == "已采购新灭火器" and row["完成比例（%）"] == 60
    assert row["进度报告次数"] == 1 and row["整改措施"] == "清理通道"
    assert row["交办日期"].date() == date(2026, 3, 2) and row["状态"] == "整改中"
    assert progress[scene.late]["进度报告次数"] == 0 and progress[scene.late]["最近进展"] is None
    assert sorted(by_id(table(w, "progress"))) == sorted(progress)
    responsible = by_id(xlsx(w, "responsibility"))
    assert sorted(responsible) == sorted(progress)
    row = responsible[scene.progressing]
    assert row["企业整改责任人"] == "李强" and row["监管责任人（交办对象）"] == "王工"
    assert row["交办人"] == "dispatcher:dispatcher" and row["登记人"] == "inspector:inspector"
    assert row["挂牌督办级别"] == "县级"  # overdue 3 days: listed by the ladder
    assert responsible[scene.late]["挂牌督办级别"] is None
    closed_only = by_id(xlsx(w, "progress", state="closed"))
    assert sorted(closed_only) == [scene.closed]  # a named state replaces "open"


def test_enforcement_shows_documents_and_their_service(scene: Scene) -> None:
    w = scene.world
    rows = xlsx(w, "enforcement")
    [penalty] = [r for r in rows if r["执法措施"] == "行政处罚"]
    documents = w.client.get(
        f"/api/v1/hazards/{scene.listed}/documents", headers=w.h("dispatcher")
    ).json()
    [decision] = [d for d in documents if d["trigger"] == "record_penalty"]
    assert penalty["隐患编号"] == scene.listed and penalty["企业名称"] == "测试企业1"
    assert penalty["决定内容"] == "罚款，20000元"
    assert penalty["文书编号"] == decision["number"]
    assert penalty["法律依据"] == "安全生产法第一百零二条"
    assert penalty["决定日期"].date() == date(2026, 3, 2)
    assert penalty["执法人员"] == "dispatcher:dispatcher"
    assert penalty["送达状态"] == "未送达" and penalty["送达日期"] is None
    served = {"served_at": w.clock.now.isoformat(), "method": "post", "recipient": "企业收发室"}
    r = w.client.post(
        f"/api/v1/documents/{decision['id']}/serve", json=served, headers=w.h("dispatcher")
    )
    assert r.status_code == 200, r.text
    [penalty] = [r for r in table(w, "enforcement") if r["执法措施"] == "行政处罚"]
    assert penalty["送达状态"] == "已送达" and penalty["送达日期"] == today(w).isoformat()
    assert penalty["送达方式"] == "邮寄送达" and penalty["受送达人"] == "企业收发室"


def test_accountability_and_supervision(scene: Scene) -> None:
    w = scene.world
    [entry] = xlsx(w, "accountability")
    assert entry["隐患编号"] == scene.late and entry["问责事由"] == "验收逾期"
    assert entry["被问责单位"] == "负责复查验收的监管部门（验收方）" and entry["被问责人"] == "王工"
    assert entry["状态"] == "待处理" and entry["处理结果"] is None
    opened = w.client.get("/api/v1/accountability", headers=w.h("dispatcher")).json()["items"][0]
    assert entry["发起时间"] == china(opened["opened_at"])
    [text] = table(w, "accountability")
    assert text["问责编号"] == str(opened["id"])
    listings = by_id(xlsx(w, "supervision"))
    assert sorted(listings) == [scene.progressing, scene.listed]
    automatic = listings[scene.progressing]
    assert automatic["挂牌方式"] == "自动挂牌" and automatic["摘牌日期"] is None
    listing = listings[scene.listed]
    history = w.history(scene.listed)
    listed = next(e for e in history if e["trigger"] == "list_for_supervision")
    delisted = next(e for e in history if e["trigger"] == "verify_pass")
    assert listing["隐患编号"] == scene.listed and listing["挂牌级别"] == "县级"
    number = (listed["payload"].get("document") or {}).get("number") or "岸督〔2026〕7号"
    assert listing["挂牌文号"] == number
    assert listing["挂牌方式"] == "人工挂牌"
    assert listing["挂牌日期"].date() == china(listed["at"]).date()
    assert listing["摘牌日期"].date() == china(delisted["at"]).date()
    assert listing["销号日期"] is None and listing["状态"] == "已验收"
    assert listing["整改期限"] == china(w.get(scene.listed)["deadline"])


def test_scope_each_caller_sees_their_own(scene: Scene) -> None:
    w = scene.world
    assert sorted(by_id(table(w, "hazards", "dispatcher_province"))) == sorted(
        [*scene.home, scene.elsewhere]
    )
    assert sorted(by_id(table(w, "hazards", "dispatcher_elsewhere"))) == [scene.elsewhere]
    assert sorted(by_id(table(w, "hazards", "enterprise"))) == sorted(scene.home)
    assert sorted(by_id(table(w, "hazards", "enterprise_other"))) == [scene.elsewhere]
    assert sorted(by_id(table(w, "hazards", "auditor"))) == sorted(scene.home)  # the city
    assert table(w, "accountability", "dispatcher_elsewhere") == []
    # A region outside the caller's scope does not exist for them, as in the API.
    r = get(w, "/hazards", "dispatcher", region="420202")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    # A wider region than the scope is allowed: the rows stay in scope.
    assert sorted(by_id(table(w, "hazards", "dispatcher", region="420000"))) == sorted(scene.home)


def test_filters(scene: Scene) -> None:
    w = scene.world
    assert [*by_id(table(w, "hazards", grade="major"))] == [scene.listed]
    assert [*by_id(table(w, "hazards", industry="建材"))] == [scene.progressing]
    assert [*by_id(table(w, "hazards", state="closed"))] == [scene.closed]
    day = "2026-03-02"
    assert len(table(w, "hazards", **{"from": day, "to": day})) == 4
    assert table(w, "hazards", **{"from": "2026-03-03"}) == []
    assert table(w, "hazards", to="2026-03-01") == []
    both = table(w, "hazards", "dispatcher_province", region="420202")
    assert [int(r["隐患编号"]) for r in both] == [scene.elsewhere]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "20260301"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "to"),
        ({"region": "42"}, "region"),
        ({"grade": "huge"}, "grade"),
        ({"state": "burning"}, "state"),
        ({"format": "pdf"}, "format"),
    ],
)
def test_bad_filters_are_422_naming_the_parameter(
    world: World, params: dict[str, str], field: str
) -> None:
    r = get(world, "/hazards", **params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_an_unknown_ledger_is_404(world: World) -> None:
    r = get(world, "/salaries")
    assert r.status_code == 404 and "hazards" in r.json()["detail"]
    assert world.client.get("/api/v1/ledgers/hazards").status_code == 401


def test_text_that_looks_like_a_formula_stays_text(world: World) -> None:
    """CSV injection: an enterprise types the title, the office opens the ledger."""
    title = '=HYPERLINK("http://example.org","点我")'
    hid = world.report("enterprise", title=title, location="-1层")["id"]
    r = get(world, "/hazards", format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    [row] = [row for row in sheet.iter_rows(min_row=2) if row[0].value == hid]
    assert row[8].value == title and row[8].data_type == "s"  # not a formula
    [text] = [r for r in table(world, "hazards") if r["隐患编号"] == str(hid)]
    assert text["隐患名称"] == "'" + title and text["隐患部位"] == "'-1层"
