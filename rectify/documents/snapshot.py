"""What a document shows, taken in the issuing step's transaction: the snapshot (plain text
values, China time, wording filled in), from which the PDF is rendered after commit and which
is kept beside it, so the document never depends on data that changes later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rectify.documents.config import DocumentsConfig, Kind, Office, fill
from rectify.hazards.row import HazardRow
from rectify.hazards.words import GRADE_LABELS, LEVEL_LABELS
from rectify.timers.policy import CHINA_TZ, DayMode, Policy

__all__ = ["Facts", "build", "china_date", "china_time", "sentence", "yuan_upper"]

PENALTIES = {
    "warning": "警告",
    "fine": "罚款",
    "daily_fine": "按日连续罚款",
    "confiscation": "没收违法所得",
    "suspension": "责令停产停业",
    "license_revocation": "吊销有关许可证",
}
_DIGITS = "零壹贰叁肆伍陆柒捌玖"


def china_date(moment: datetime) -> str:
    """2026年3月2日 (the day in China)."""
    local = moment.astimezone(CHINA_TZ)
    return f"{local.year}年{local.month}月{local.day}日"


def china_time(moment: datetime | None) -> str:
    """2026年3月9日9时00分 (China time); empty for none."""
    if moment is None:
        return ""
    local = moment.astimezone(CHINA_TZ)
    return f"{china_date(local)}{local.hour}时{local.minute:02d}分"


def _group(n: int) -> str:
    """0 < n < 10000 in capital numerals, with 零 for inner zeros."""
    out, zero = "", False
    for power, unit in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        digit = n // power % 10
        if digit == 0:
            zero = zero or bool(out)
            continue
        out += ("零" if zero else "") + _DIGITS[digit] + unit
        zero = False
    return out


def yuan_upper(amount: float) -> str:
    """An amount in the capital numerals of financial writing: 贰万零伍拾元整."""
    fen = round(amount * 100)
    yuan, jiao, cents = fen // 100, fen // 10 % 10, fen % 10
    groups, n = [], yuan
    while n:
        groups.append(n % 10000)
        n //= 10000
    out, gap = "", False
    for index in range(len(groups) - 1, -1, -1):
        g = groups[index]
        if g == 0:
            gap = bool(out)
            continue
        if out and (gap or g < 1000):
            out += "零"
        out += _group(g) + ("万" if index % 2 else "") + "亿" * (index // 2)
        gap = False
    if not jiao and not cents:
        return (out or "零") + "元整"
    out = out + "元" if out else ""  # 叁角整, not 零元叁角整
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif yuan:
        out += "零"
    return out + (_DIGITS[cents] + "分" if cents else "整")


def sentence(text: str | None) -> str:
    """Free text as a sentence of the document: ending with 。 unless it ends a sentence."""
    text = (text or "").strip()
    return text if not text or text[-1] in "。！？；.!?;" else text + "。"


def _penalty(kind: str, amount: float | None) -> str:
    label = PENALTIES.get(kind, kind)
    if amount is None:
        return label
    # Capital numerals up to 亿亿 (no fine comes near); beyond, the figure alone.
    words = yuan_upper(amount) if amount < 1e16 else ""
    money = f"人民币{words}（¥{amount:,.2f}）"
    return f"{label}，每日{money}" if kind == "daily_fine" else f"{label}{money}"


def _days(policy: Policy, kind: str, grade: str) -> str:
    rule = policy.rule(kind, grade)
    days = rule.duration.days
    return f"{days}个工作日" if rule.days == DayMode.working else f"{days}日"


@dataclass(frozen=True)
class Facts:
    """Everything the snapshot reads, gathered in the issuing transaction."""

    config: DocumentsConfig
    kind_name: str
    kind: Kind
    trigger: str
    office: Office
    number: str
    now: datetime
    hazard: HazardRow  # after the step's effect
    enterprise: dict[str, Any]
    payload: dict[str, Any]  # as recorded
    officers: list[dict[str, Any]]
    policy: Policy
    order: dict[str, Any] | None = None  # the hazard's 责令限期整改指令书 (number, issued_at)
    files: tuple[dict[str, str], ...] = ()  # attachments named by the step (name, sha256)
    filing_due: datetime | None = None


def _deadline(f: Facts) -> datetime | None:
    """The one deadline a kind prints."""
    p = f.payload
    if f.trigger == "verify_fail":
        return datetime.fromisoformat(p["new_deadline"])
    if f.trigger == "verify_pass":
        return None
    if f.trigger == "transfer_to_judicial":
        return f.filing_due
    return f.hazard.deadline


def _values(f: Facts, deadline: datetime | None, organ: str) -> dict[str, Any]:
    h, p, e = f.hazard, f.payload, f.enterprise
    c = f.config.remedies
    return {
        "enterprise": e["name"],
        "credit_code": e["credit_code"],
        "organ": organ,
        "hazard_title": h.title,
        "description": sentence(h.description),
        "deadline": china_time(deadline),
        "new_deadline": china_time(deadline) if f.trigger == "verify_fail" else "",
        "assignee": p.get("assignee") or h.assignee,
        "level": LEVEL_LABELS.get(p.get("level", ""), ""),
        "reason": sentence(p.get("reason")),
        "findings": sentence(p.get("findings")),
        "note": sentence(p.get("note")),
        "legal_basis": p.get("legal_basis") or f.kind.legal_basis,
        "receiving_organ": p.get("receiving_organ"),
        "case_summary": sentence(p.get("case_summary")),
        "order_number": f.order["number"] if f.order else "（无）",
        "order_date": china_date(f.order["issued_at"]) if f.order else "",
        "penalty": _penalty(p["kind"], p.get("amount_yuan")) if "kind" in p else "",
        "act": f.kind.act,
        "reconsideration_body": f.office.reconsideration_body,
        "court": f.office.court,
        "procuratorate": f.office.procuratorate,
        "reconsideration_days": c.reconsideration_days,
        "lawsuit_months": c.lawsuit_months,
        "filing_days": _days(f.policy, "judicial_decision_due", h.grade),
        "progress_days": _days(f.policy, "progress_due", h.grade),
    }


def _parties(f: Facts, values: dict[str, Any]) -> list[list[str]]:
    h, p = f.hazard, f.payload
    rows = [
        ["被检查单位" if f.kind.officers else "当事人", values["enterprise"]],
        ["统一社会信用代码", values["credit_code"]],
        ["事故隐患", f"{h.title}（{GRADE_LABELS.get(h.grade, h.grade)}，编号{h.id}）"],
    ]
    if h.location:
        rows.append(["隐患部位", h.location])
    if f.trigger == "list_for_supervision":
        rows.append(["督办级别", f"{values['level']}挂牌督办"])
        rows.append(["督办单位", values["organ"]])
    if f.trigger == "record_penalty":
        rows.append(["处罚种类", values["penalty"]])
        rows.append(["处罚依据", values["legal_basis"]])
    if f.trigger == "transfer_to_judicial":
        rows.append(["移送机关", values["organ"]])
        rows.append(["接收机关", values["receiving_organ"]])
    label = {"transfer_to_judicial": "立案决定期限", "verify_fail": "新的整改期限"}
    if values["deadline"]:
        rows.append([label.get(f.trigger, "整改期限"), values["deadline"] + "前"])
    if f.trigger == "assign":
        rows.append(["整改责任人", values["assignee"] or ""])
    if f.trigger == "transfer_to_judicial":
        rows.append(["立案依据", "《行政执法机关移送涉嫌犯罪案件的规定》第八条"])
    del p
    return rows


def build(f: Facts) -> dict[str, Any]:
    """The snapshot: plain values the kind's Typst file lays out."""
    organ = f.office.organ_for(f.kind_name)
    deadline = _deadline(f)
    values = _values(f, deadline, organ)
    wording = {k: fill(v, values) for k, v in f.kind.wording_for(f.trigger).items()}
    officers = [{"name": o["name"], "certificate_no": o["certificate_no"]} for o in f.officers]
    officers += [{"name": "", "certificate_no": ""}] * (f.kind.officers - len(officers))
    problems = []
    if f.trigger == "assign":
        where = f"（{f.hazard.location}）" if f.hazard.location else ""
        text = f"{f.hazard.title}{where}"
        if f.hazard.description:
            text += f"：{f.hazard.description}"
        problems.append({"text": f"{text}。整改期限：{values['deadline']}前。"})
    handlers = list(f.payload.get("officers", [])) if f.trigger == "transfer_to_judicial" else []
    remedies = f.kind.remedies_for(f.trigger)
    return {
        "kind": f.kind_name,
        "title": f.kind.name,
        "number": f.number,
        "organ": organ,
        "date": china_date(f.now),
        "issued_at": f.now.isoformat(),
        "hazard_id": f.hazard.id,
        "enterprise": {"name": values["enterprise"], "credit_code": values["credit_code"]},
        "deadline": values["deadline"] or None,
        "legal_basis": values["legal_basis"],
        "addressee": wording.pop("addressee", ""),
        "parties": _parties(f, values),
        "sections": wording,
        "problems": problems,
        "remedies": fill(f.config.remedies.text, values) if remedies else None,
        "officers": officers,
        "handlers": handlers,
        "attachments": list(f.kind.attachments),
        "files": list(f.files),
        "recipient": wording.pop("recipient", None),
        "copy_to": wording.pop("copy_to", None),
        "footer": wording.pop("footer", None),
    }
