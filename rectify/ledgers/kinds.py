"""The ledgers (台账) an office keeps: each kind's Chinese name, its columns with their Chinese
headers, and the query that streams its rows (one pass, ordered, constant memory).

Every query starts from the hazards in the caller's scope that match the filters (discovery
date, region, grade, industry, state) and reads in batches (`yield_per`: a server-side cursor on
PostgreSQL). Rows are tuples in column order; instants are China time without an offset (what a
spreadsheet cell holds), dates China dates. docs/LEDGERS.md says what each ledger holds and
where its columns come from in law and practice.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, and_, func, select

from rectify.accountability.models import OUTCOMES, RULES, STATE_LABELS, Accountability
from rectify.audit.models import Event
from rectify.auth.scope import Caller, in_region
from rectify.calendar.days import CHINA_TZ
from rectify.documents.models import SERVICE_METHODS, Document
from rectify.enterprises.models import Enterprise
from rectify.hazards import extensions
from rectify.hazards.row import HAZARDS, overdue_seconds
from rectify.hazards.words import GRADE_LABELS, LEVEL_LABELS, PENALTY_KINDS, SOURCE_LABELS
from rectify.workflow.definition import Registry

__all__ = ["KINDS", "Column", "Kind", "LedgerFilters", "Reader"]

H, EV = HAZARDS.c, Event.__table__.c  # type: ignore[attr-defined]
ENTERPRISES = Enterprise.__table__  # type: ignore[attr-defined]
EN = ENTERPRISES.c
EVENTS = Event.__table__  # type: ignore[attr-defined]
DOCUMENTS = Document.__table__  # type: ignore[attr-defined]
ACCOUNTABILITY = Accountability.__table__  # type: ignore[attr-defined]
BATCH = 1000  # rows fetched per round trip

FINAL = ("closed", "dismissed")
CLOSING = ("close", "self_close", "decide_closure")  # the steps that may sign a hazard off (销号)
ENFORCEMENT = {
    "order_on_the_spot": "现场处理措施",
    "record_penalty": "行政处罚",
    "order_suspension": "责令停产停业整顿",
    "record_suspension_refusal": "拒不执行停产停业整顿",
    "order_closure": "提请关闭",
    "decide_closure": "关闭决定",
    "transfer_to_judicial": "移送司法机关",
    "record_judicial_decision": "立案决定",
    "request_reconsideration": "提请复议",
    "request_filing_supervision": "提请立案监督",
}
"""The enforcement steps (监管执法和案件查办) by the measure's name: penalties, suspensions,
closures, transfers to the judicial organs and their decisions."""

ColumnType = Literal["text", "int", "date", "datetime"]


@dataclass(frozen=True)
class Column:
    header: str  # 中文表头
    width: int = 14  # characters, for the sheet
    type: ColumnType = "text"


@dataclass(frozen=True)
class LedgerFilters:
    """What the caller asked for; checked by the service before a ledger is read."""

    since: date | None = None  # discovery date from (China date, inclusive)
    until: date | None = None  # discovery date to (inclusive)
    region: str | None = None
    grade: str | None = None
    industry: str | None = None
    state: str | None = None


@dataclass
class Reader:
    """What a ledger's query needs: the connections, the caller, the filters, the time and the
    workflow definitions (for Chinese labels of states and steps)."""

    connect: Callable[[], Any]  # a context manager giving a Connection
    caller: Caller
    filters: LedgerFilters
    now: datetime
    registry: Registry
    _labels: dict[tuple[str, int, str, str], str] = field(default_factory=dict)

    def label(self, row: Any, kind: str, name: str) -> str:
        """The Chinese label of a state (`state`) or step (`trigger`) in the row's workflow."""
        key = (row.workflow_name, row.workflow_version, kind, name)
        if key not in self._labels:
            d = self.registry.get(row.workflow_name, row.workflow_version)
            if kind == "trigger":
                spec = d.triggers.get(name)
                self._labels[key] = spec.label if spec else name
            else:
                self._labels[key] = d.label_of(kind, name)
        return self._labels[key]

    def where(self, *, open_only: bool = False) -> list[Any]:
        """The hazards the ledger covers: in scope and matching the filters."""
        f, where = self.filters, [self.caller.scope_filter(HAZARDS)]
        if f.since is not None:
            where.append(H.created_at >= _start_of(f.since))
        if f.until is not None:
            where.append(H.created_at < _start_of(f.until + timedelta(days=1)))
        if f.region:
            where.append(in_region(H.region_code, f.region))
        if f.grade:
            where.append(H.grade == f.grade)
        if f.industry:
            where.append(H.industry == f.industry)
        if f.state:
            where.append(H.state == f.state)
        elif open_only:
            where.append(H.state.notin_(FINAL))
        return [w for w in where if w is not None]

    def stream(self, statement: Select) -> Iterator[Any]:
        """The statement's rows, fetched in batches on a connection of its own."""
        with self.connect() as connection:
            yield from connection.execution_options(yield_per=BATCH).execute(statement)


@dataclass(frozen=True)
class Kind:
    name: str
    title: str  # 中文名称
    source: str  # where the ledger comes from (law, practice)
    columns: tuple[Column, ...]
    rows: Callable[[Reader], Iterator[tuple[Any, ...]]]


# -- values as cells --------------------------------------------------------------------------
def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ)


def china(moment: datetime | None) -> datetime | None:
    """An instant as China wall time without an offset (a spreadsheet cell has none)."""
    if moment is None:
        return None
    return moment.astimezone(CHINA_TZ).replace(tzinfo=None, microsecond=0)


def china_day(moment: datetime | None) -> date | None:
    return moment.astimezone(CHINA_TZ).date() if moment is not None else None


def _instant(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def overdue_days(row: Any, now: datetime) -> int | None:
    """Days an open hazard is past its deadline, a day begun counting as one (None: on time)."""
    late = overdue_seconds(row, now)
    return math.ceil(late / 86400) if late is not None else None


def _closed_at() -> Any:
    """The sign-off (销号) time: the step that closed the hazard."""
    return (
        select(func.max(EV.at))
        .where(EV.hazard_id == H.id, EV.trigger.in_(CLOSING))
        .correlate(HAZARDS)
        .scalar_subquery()
    )


def _base(*columns: Any) -> Select:
    return select(*columns).select_from(HAZARDS.join(ENTERPRISES, EN.id == H.enterprise_id))


_HAZARD_COLUMNS = (
    H.id,
    H.title,
    H.description,
    H.location,
    H.grade,
    H.source,
    H.industry,
    H.region_code,
    H.state,
    H.workflow_name,
    H.workflow_version,
    H.deadline,
    H.original_deadline,
    H.created_at,
    H.plan,
    H.assignee,
    H.assigned_at,
    H.reported_by,
    H.supervision,
    H.supervision_level,
    H.pending_extension,
    EN.name.label("enterprise"),
    EN.credit_code,
)


def _responsible(row: Any) -> str | None:
    return (row.plan or {}).get("responsible_person")


# -- 隐患排查治理台账 ----------------------------------------
def _extension_text(requests: list[dict[str, Any]]) -> str:
    parts = []
    for r in requests:
        to = china(r["new_deadline"])
        line = f"申请延至{to:%Y-%m-%d %H:%M}" if to else "申请延期"
        decided = china(r["decided_at"])
        when = f"，{decided:%Y-%m-%d %H:%M}" if decided else ""
        by = f"，{r['decided_by']}" if r["decided_by"] else ""
        parts.append(f"{line}（{r['decision_label']}{by}{when}）")
    return "；".join(parts)


def _hazard_rows(r: Reader) -> Iterator[tuple[Any, ...]]:
    where = r.where()
    hazards = _base(*_HAZARD_COLUMNS, _closed_at().label("closed_at")).where(*where)
    # The extension events of the same hazards, in the same order: merged as both stream.
    moves = (
        select(EV.hazard_id, EV.hazard_seq, EV.trigger, EV.actor, EV.at, EV.payload)
        .select_from(EVENTS.join(HAZARDS, H.id == EV.hazard_id))
        .where(*where, extensions.touches_extensions())
        .order_by(EV.hazard_id, EV.hazard_seq)
    )
    pending = r.stream(moves)
    ahead = next(pending, None)
    for h in r.stream(hazards.order_by(H.id)):
        events = []
        while ahead is not None and ahead.hazard_id <= h.id:
            if ahead.hazard_id == h.id:
                events.append(tuple(ahead)[1:])
            ahead = next(pending, None)
        requests = extensions.fold(events)
        approved = sum(1 for q in requests if q["decision"] == "approved")
        yield (
            h.id,
            h.enterprise,
            h.credit_code,
            h.industry,
            h.region_code,
            SOURCE_LABELS.get(h.source, h.source),
            GRADE_LABELS.get(h.grade, h.grade),
            china_day(h.created_at),
            h.title,
            h.description,
            h.location,
            _responsible(h),
            china(h.original_deadline),
            china(h.deadline),
            approved,
            _extension_text(requests),
            r.label(h, "state", h.state),
            overdue_days(h, r.now),
            china_day(h.closed_at),
        )
    for _ in pending:  # drain, so that the connection is released cleanly
        pass


HAZARDS_KIND = Kind(
    name="hazards",
    title="隐患排查治理台账",
    source="安全生产法 第四十一条（如实记录事故隐患排查治理情况）〔法律法规〕；"
    "安全生产事故隐患排查治理暂行规定（登记隐患，建立信息档案）〔条款号待核实〕",
    columns=(
        Column("隐患编号", 10, "int"),
        Column("企业名称", 28),
        Column("统一社会信用代码", 22),
        Column("行业", 12),
        Column("行政区划", 10),
        Column("隐患来源", 10),
        Column("隐患等级", 14),
        Column("发现日期", 12, "date"),
        Column("隐患名称", 30),
        Column("隐患描述", 40),
        Column("隐患部位", 16),
        Column("整改责任人", 12),
        Column("原定整改期限", 18, "datetime"),
        Column("当前整改期限", 18, "datetime"),
        Column("批准延期次数", 12, "int"),
        Column("延期情况", 48),
        Column("状态", 10),
        Column("逾期天数", 10, "int"),
        Column("销号日期", 12, "date"),
    ),
    rows=_hazard_rows,
)


# -- 进度清单 ----------------------------------------
def _progress_rows(r: Reader) -> Iterator[tuple[Any, ...]]:
    progress = and_(EV.hazard_id == H.id, EV.trigger == "report_progress")
    last_seq = select(func.max(EV.hazard_seq)).where(progress).correlate(HAZARDS).scalar_subquery()
    reports = select(func.count()).where(progress).correlate(HAZARDS).scalar_subquery()
    last = EVENTS.alias("last")
    stmt = (
        select(
            *_HAZARD_COLUMNS,
            reports.label("reports"),
            last.c.at.label("last_at"),
            last.c.payload.label("last_payload"),
        )
        .select_from(
            HAZARDS.join(ENTERPRISES, EN.id == H.enterprise_id).outerjoin(
                last, and_(last.c.hazard_id == H.id, last.c.hazard_seq == last_seq)
            )
        )
        .where(*r.where(open_only=True))
        .order_by(H.id)
    )
    for h in r.stream(stmt):
        note = _payload(h.last_payload) if h.last_payload else {}
        yield (
            h.id,
            h.enterprise,
            h.region_code,
            h.title,
            GRADE_LABELS.get(h.grade, h.grade),
            china_day(h.created_at),
            china_day(h.assigned_at),
            (h.plan or {}).get("measures"),
            _responsible(h),
            china(h.deadline),
            h.reports,
            china(h.last_at),
            note.get("note"),
            note.get("percent"),
            r.label(h, "state", h.state),
            overdue_days(h, r.now),
        )


PROGRESS = Kind(
    name="progress",
    title="进度清单",
    source="13710 工作机制（山西，2016）：3 日内报告整改进度，逐项跟踪至销号 〔实践做法〕",
    columns=(
        Column("隐患编号", 10, "int"),
        Column("企业名称", 28),
        Column("行政区划", 10),
        Column("隐患名称", 30),
        Column("隐患等级", 14),
        Column("发现日期", 12, "date"),
        Column("交办日期", 12, "date"),
        Column("整改措施", 36),
        Column("整改责任人", 12),
        Column("整改期限", 18, "datetime"),
        Column("进度报告次数", 12, "int"),
        Column("最近报告时间", 18, "datetime"),
        Column("最近进展", 36),
        Column("完成比例（%）", 12, "int"),
        Column("状态", 10),
        Column("逾期天数", 10, "int"),
    ),
    rows=_progress_rows,
)


# -- 责任清单 ----------------------------------------
def _responsibility_rows(r: Reader) -> Iterator[tuple[Any, ...]]:
    assigned_by = (
        select(EV.actor)
        .where(EV.hazard_id == H.id, EV.trigger.in_(("assign", "self_assign")))
        .order_by(EV.hazard_seq.desc())
        .limit(1)
        .correlate(HAZARDS)
        .scalar_subquery()
    )
    stmt = (
        _base(*_HAZARD_COLUMNS, assigned_by.label("assigned_by"))
        .where(*r.where(open_only=True))
        .order_by(H.id)
    )
    for h in r.stream(stmt):
        listed = LEVEL_LABELS.get(h.supervision_level or "") if h.supervision == "listed" else None
        yield (
            h.id,
            h.enterprise,
            h.credit_code,
            h.region_code,
            h.title,
            GRADE_LABELS.get(h.grade, h.grade),
            r.label(h, "state", h.state),
            _responsible(h),
            h.assignee,
            h.assigned_by,
            h.reported_by,
            listed,
            china(h.deadline),
            overdue_days(h, r.now),
        )


RESPONSIBILITY = Kind(
    name="responsibility",
    title="责任清单",
    source="安全生产法 第四条、第二十一条（生产经营单位主要负责人职责）与第四十一条 〔法律法规〕；"
    "隐患整改“五落实”（责任、措施、资金、时限、预案）〔实践做法〕",
    columns=(
        Column("隐患编号", 10, "int"),
        Column("企业名称", 28),
        Column("统一社会信用代码", 22),
        Column("行政区划", 10),
        Column("隐患名称", 30),
        Column("隐患等级", 14),
        Column("状态", 10),
        Column("企业整改责任人", 14),
        Column("监管责任人（交办对象）", 18),
        Column("交办人", 20),
        Column("登记人", 20),
        Column("挂牌督办级别", 12),
        Column("整改期限", 18, "datetime"),
        Column("逾期天数", 10, "int"),
    ),
    rows=_responsibility_rows,
)


# -- 监管执法和案件查办清单 ----------------------------------------
SERVICE_STATUS = {None: "无文书", "pending": "待生成", "issued": "未送达"}


def _document_no(p: dict[str, Any], number: str | None) -> str | None:
    """The document's number: the one the system issued, else the one the step recorded."""
    if number:
        return number
    for key in ("decision_no", "order_no", "document_no", "case_no"):
        if p.get(key):
            return str(p[key])
    return None


def _measure(trigger: str, p: dict[str, Any]) -> str:
    """What the step decided, in a few words."""
    if trigger == "record_penalty":
        kind = PENALTY_KINDS.get(p.get("kind", ""), p.get("kind", ""))
        amount = p.get("amount_yuan")
        return f"{kind}，{amount:g}元" if isinstance(amount, int | float) else kind
    if trigger in ("decide_closure", "record_judicial_decision"):
        decision = p.get("decision")
        words = {"approved": "批准关闭", "rejected": "不予关闭", "filed": "立案"}
        return words.get(decision, "不予立案" if decision == "not_filed" else str(decision or ""))
    if trigger == "transfer_to_judicial":
        return f"移送{p.get('receiving_organ', '')}"
    return p.get("reason") or p.get("facts") or p.get("measures") or ""


def _enforcement_rows(r: Reader) -> Iterator[tuple[Any, ...]]:
    d = DOCUMENTS.c
    stmt = (
        select(
            EV.hazard_id,
            EV.hazard_seq,
            EV.trigger,
            EV.actor,
            EV.at,
            EV.payload,
            H.workflow_name,
            H.workflow_version,
            H.region_code,
            EN.name.label("enterprise"),
            EN.credit_code,
            d.number,
            d.status,
            d.served_at,
            d.served_method,
            d.served_recipient,
        )
        .select_from(
            EVENTS.join(HAZARDS, H.id == EV.hazard_id)
            .join(ENTERPRISES, EN.id == H.enterprise_id)
            .outerjoin(DOCUMENTS, and_(d.hazard_id == EV.hazard_id, d.hazard_seq == EV.hazard_seq))
        )
        .where(*r.where(), EV.trigger.in_(tuple(ENFORCEMENT)))
        .order_by(EV.hazard_id, EV.hazard_seq)
    )
    for e in r.stream(stmt):
        p = _payload(e.payload)
        status = "已送达" if e.served_at else SERVICE_STATUS.get(e.status, e.status)
        decided = p.get("decided_on")
        yield (
            e.hazard_id,
            e.enterprise,
            e.credit_code,
            e.region_code,
            ENFORCEMENT[e.trigger],
            _measure(e.trigger, p),
            _document_no(p, e.number),
            p.get("legal_basis"),
            date.fromisoformat(decided) if isinstance(decided, str) else china_day(e.at),
            e.actor,
            status,
            china_day(e.served_at),
            SERVICE_METHODS.get(e.served_method or "", e.served_method),
            e.served_recipient,
        )


ENFORCEMENT_KIND = Kind(
    name="enforcement",
    title="监管执法和案件查办清单",
    source="安全生产法 第六十五条、第一百零二条、第一百一十三条 〔法律法规〕；"
    "行政处罚法 第六十一条（送达）〔法律法规〕；"
    "国务院令第310号（行政执法机关移送涉嫌犯罪案件的规定）〔法律法规〕",
    columns=(
        Column("隐患编号", 10, "int"),
        Column("企业名称", 28),
        Column("统一社会信用代码", 22),
        Column("行政区划", 10),
        Column("执法措施", 18),
        Column("决定内容", 30),
        Column("文书编号", 30),
        Column("法律依据", 30),
        Column("决定日期", 12, "date"),
        Column("执法人员", 20),
        Column("送达状态", 10),
        Column("送达日期", 12, "date"),
        Column("送达方式", 10),
        Column("受送达人", 16),
    ),
    rows=_enforcement_rows,
)


# -- 追责问责清单 ----------------------------------------
def _accountability_rows(r: Reader) -> Iterator[tuple[Any, ...]]:
    a = ACCOUNTABILITY.c
    stmt = (
        select(ACCOUNTABILITY, H.title, H.workflow_name, EN.name.label("enterprise"))
        .select_from(
            ACCOUNTABILITY.join(HAZARDS, H.id == a.hazard_id).join(
                ENTERPRISES, EN.id == H.enterprise_id
            )
        )
        .where(*r.where())
        .order_by(a.id)
    )
    for e in r.stream(stmt):
        yield (
            e.id,
            e.hazard_id,
            e.enterprise,
            e.region_code,
            e.title,
            RULES.get(e.rule, e.rule),
            e.body,
            e.person,
            e.reason,
            china(e.opened_at),
            STATE_LABELS.get(e.state, e.state),
            OUTCOMES.get(e.outcome or "", e.outcome),
            e.note,
            e.resolved_by,
            china(e.resolved_at),
        )


ACCOUNTABILITY_KIND = Kind(
    name="accountability",
    title="追责问责清单",
    source="验收逾期，追究验收方责任（本系统规则）〔本系统约定〕；"
    "安全生产法 第九十条 〔法律法规〕；中国共产党问责条例 第八条 〔法律法规〕",
    columns=(
        Column("问责编号", 10, "int"),
        Column("隐患编号", 10, "int"),
        Column("企业名称", 28),
        Column("行政区划", 10),
        Column("隐患名称", 30),
        Column("问责事由", 20),
        Column("被问责单位", 28),
        Column("被问责人", 12),
        Column("原因", 40),
        Column("发起时间", 18, "datetime"),
        Column("状态", 10),
        Column("处理结果", 16),
        Column("处理情况", 36),
        Column("处理人", 20),
        Column("处理时间", 18, "datetime"),
    ),
    rows=_accountability_rows,
)


# -- 督办台账 ----------------------------------------
def _delists(registry: Registry) -> tuple[str, ...]:
    """The steps that may take a listing down (摘牌), in any deployed workflow."""
    return tuple(
        sorted(
            {
                name
                for d in registry.all()
                for name, t in d.triggers.items()
                for move in t.transitions
                if move.region == "supervision" and move.to == "delisted"
            }
        )
    )


def _supervision_rows(r: Reader) -> Iterator[tuple[Any, ...]]:
    triggers = ("list_for_supervision", *_delists(r.registry))
    stmt = (
        _base(
            EV.hazard_id,
            EV.hazard_seq,
            EV.trigger,
            EV.role,
            EV.at,
            EV.payload,
            EV.from_state,
            EV.to_state,
            H.title,
            H.grade,
            H.state,
            H.deadline,
            H.region_code,
            H.workflow_name,
            H.workflow_version,
            EN.name.label("enterprise"),
            EN.credit_code,
            _closed_at().label("closed_at"),
        )
        .join(EVENTS, EV.hazard_id == H.id)
        .where(*r.where(), EV.trigger.in_(triggers))
        .order_by(EV.hazard_id, EV.hazard_seq)
    )
    listing: dict[str, Any] | None = None
    for e in r.stream(stmt):
        if listing is not None and listing["hazard"].hazard_id != e.hazard_id:
            yield _listing_row(r, listing)
            listing = None
        if e.trigger == "list_for_supervision":
            if listing is not None:
                yield _listing_row(r, listing)
            listing = {"hazard": e, "payload": _payload(e.payload), "delisted": None}
        elif listing is not None and _moved(e, "listed", "delisted"):
            listing["delisted"] = e.at
            yield _listing_row(r, listing)
            listing = None
    if listing is not None:
        yield _listing_row(r, listing)


def _moved(e: Any, before: str, after: str) -> bool:
    was = (e.from_state or {}).get("supervision")
    return was == before and (e.to_state or {}).get("supervision") == after


def _listing_row(r: Reader, listing: dict[str, Any]) -> tuple[Any, ...]:
    e, p = listing["hazard"], listing["payload"]
    deadline = _instant(p.get("deadline")) or e.deadline
    number = (p.get("document") or {}).get("number") or p.get("document_no")
    return (
        e.hazard_id,
        e.enterprise,
        e.credit_code,
        e.region_code,
        e.title,
        GRADE_LABELS.get(e.grade, e.grade),
        LEVEL_LABELS.get(p.get("level", ""), p.get("level")),
        number,
        china_day(e.at),
        "自动挂牌" if e.role == "system" else "人工挂牌",
        china(deadline),
        china_day(listing["delisted"]),
        china_day(e.closed_at),
        r.label(e, "state", e.state),
    )


SUPERVISION = Kind(
    name="supervision",
    title="督办台账",
    source="安全生产法 第四十一条（重大事故隐患督办）〔法律法规〕；挂牌督办与摘牌、销号的地方做法"
    "（青岛：挂牌、摘牌 5 个工作日内公布）〔实践做法〕",
    columns=(
        Column("隐患编号", 10, "int"),
        Column("企业名称", 28),
        Column("统一社会信用代码", 22),
        Column("行政区划", 10),
        Column("隐患名称", 30),
        Column("隐患等级", 14),
        Column("挂牌级别", 10),
        Column("挂牌文号", 30),
        Column("挂牌日期", 12, "date"),
        Column("挂牌方式", 10),
        Column("整改期限", 18, "datetime"),
        Column("摘牌日期", 12, "date"),
        Column("销号日期", 12, "date"),
        Column("状态", 10),
    ),
    rows=_supervision_rows,
)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        HAZARDS_KIND,
        PROGRESS,
        RESPONSIBILITY,
        ENFORCEMENT_KIND,
        ACCOUNTABILITY_KIND,
        SUPERVISION,
    )
}
"""Every ledger by its API name, in the order the list and the console show them."""
