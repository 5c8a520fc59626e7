"""The hazard page's words in Chinese: payload fields and their values, timers, refusals and
field errors. States, branches and triggers are labelled by the workflow definition itself
(`workflows/hazard.v*.yaml`: `Definition.label_of`, `triggers[...].label`, `guards[...].label`);
this module only names what the definition does not: the payload's fields and values, and the
sentences the service words in English for the API (each translated, the original kept where a
sentence is not known)."""

from __future__ import annotations

import re
from typing import Any

from rectify.auth.models import ROLE_LABELS
from rectify.documents.models import SERVICE_METHODS
from rectify.hazards.words import GRADE_LABELS, LEVEL_LABELS, PENALTY_KINDS, SOURCE_LABELS
from rectify.workflow.definition import Definition

__all__ = [
    "FIELD_LABELS",
    "FIELD_HINTS",
    "TIMER_LABELS",
    "VALUE_LABELS",
    "field_error_zh",
    "field_label",
    "payload_words",
    "refusal_zh",
    "source_zh",
    "value_label",
]

# 安全生产事故隐患排查治理暂行规定 art. 15: the six elements of a major-hazard plan, in its words.
PLAN_LABELS = {
    "plan.goals": "治理的目标和任务",
    "plan.measures": "采取的方法和措施",
    "plan.funds_yuan": "经费和物资的落实（元）",
    "plan.responsible_person": "负责治理的机构和人员",
    "plan.deadline": "治理的时限和要求",
    "plan.contingency_plan": "安全措施和应急预案",
}

FIELD_LABELS: dict[str, str] = {
    **PLAN_LABELS,
    "plan": "治理方案",
    "assignee": "整改责任人",
    "deadline": "整改期限",
    "officers": "执法人员",
    "reason": "理由",
    "note": "说明",
    "percent": "完成比例（%）",
    "summary": "整改情况说明",
    "evidence": "整改证据材料",
    "evaluation_report": "复产评估报告",
    "findings": "复查发现的问题",
    "new_deadline": "新的整改期限",
    "penalty_waiver_reason": "不予行政处罚的理由",
    "grade": "隐患等级",
    "basis": "判定依据（标准及条款）",
    "level": "督办级别",
    "document_no": "文件编号",
    "order_no": "指令文号",
    "facts": "查明的事实",
    "found_on": "发现日期",
    "decision_no": "决定文号",
    "decision": "决定",
    "decided_on": "决定日期",
    "deciding_body": "作出决定的人民政府",
    "receiving_organ": "接收案件的司法机关",
    "case_summary": "案情摘要",
    "attachments": "移送附件",
    "case_no": "立案编号",
    "procuratorate": "人民检察院",
    "measures": "现场处理措施",
    "scope": "措施范围",
    "approved": "审批结果",
    "kind": "处罚种类",
    "amount_yuan": "罚款金额（元）",
    "legal_basis": "法律依据",
    "verifier": "验收负责人",
    # a trigger's own wording for a field (`trigger.field`)
    "transfer_to_judicial.officers": "承办人",
    "list_for_supervision.document_no": "督办文件编号",
    "order_suspension.order_no": "停产整顿指令文号",
    "order_closure.decision_no": "提请关闭文件编号",
    "decide_closure.decision_no": "人民政府决定文号",
    "record_penalty.decision_no": "处罚决定书文号",
    "request_reconsideration.document_no": "复议申请文号",
    "request_filing_supervision.document_no": "提请立案监督文号",
    "record_suspension_refusal.facts": "拒不执行的事实",
    "order_on_the_spot.order_no": "现场处理措施决定书文号",
    # what the history's payloads carry beside the fields a person typed
    "previous_deadline": "原整改期限",
    "previous_grade": "原隐患等级",
    "failures": "验收不合格次数",
    "request": "延期申请",
    "requested_by": "申请人",
    "requested_at": "申请时间",
    "lapsed_extension": "失效的延期申请",
    "document": "执法文书",
    "number": "文号",
    "sha256": "SHA-256",
    "size": "大小（字节）",
    "content_type": "文件类型",
    "filename": "文件名",
    "document_id": "文书编号",
    "issued_by": "签发事件序号",
    "served_at": "送达时间",
    "method": "送达方式",
    "recipient": "受送达人",
    "policy_rule": "适用的期限规则",
    "deadline_provisional": "期限按临时日历计算",
    "standard": "判定标准",
    "ground": "提请关闭的情形",
    "enterprise_id": "企业编号",
    "timer_id": "定时器编号",
    "due_at": "到期时间",
    "fired_at": "触发时间",
    "step": "升级级次",
    "title": "隐患名称",
    "description": "隐患描述",
    "industry": "行业",
    "source": "隐患来源",
    "location": "位置",
    "violation": "属于违法行为",
    "certificate_no": "执法证号",
    "name": "姓名",
    "id": "编号",
}

FIELD_HINTS: dict[str, str] = {
    "deadline": "北京时间；不填则按隐患等级的期限规则计算。",
    "new_deadline": "北京时间。",
    "plan.deadline": "北京时间。",
    "officers": "签署执法文书的执法人员：选一名同事，您本人为另一名；也可选两名。",
    "basis": "例如：工贸企业重大事故隐患判定标准 第四条",
    "evidence": "勾选已上传的整改后材料（先在下方“证据材料”中上传）。",
    "attachments": "勾选随案移送的已上传材料。",
    "evaluation_report": "停产整顿期间确认整改完成，须附复产评估报告（先上传）。",
    "document_no": "挂牌督办通知的文件编号。",
    "percent": "0–100 的整数。",
    "transfer_to_judicial.officers": "承办移送的两名执法人员的姓名。",
    "order_on_the_spot.order_no": "现场处理措施决定书的文号（如已制作）。",
    "list_for_supervision.deadline": "北京时间；不填则整改期限不变。",
    "regrade.deadline": "北京时间；不填则按新等级的期限规则重新计算。",
    "self_verify.verifier": "企业主要负责人或其指定的验收负责人。",
}

GROUND_LABELS = {
    "penalties": "存在重大事故隐患且多次受到行政处罚",
    "failed_after_suspension": "停产整顿后仍不具备安全生产条件",
    "refused_suspension": "拒不执行停产停业整顿决定",
}

VALUE_LABELS: dict[str, dict[Any, str]] = {
    "grade": GRADE_LABELS,
    "previous_grade": GRADE_LABELS,
    "level": LEVEL_LABELS,
    "kind": PENALTY_KINDS,
    "method": SERVICE_METHODS,
    "approved": {True: "批准延期", False: "不予批准"},
    "violation": {True: "是", False: "否"},
    "ground": GROUND_LABELS,
    "measures": {
        "stop_work": "停止作业",
        "withdraw_people": "撤出作业人员",
        "stop_equipment": "停止使用相关设施、设备",
    },
    "source": SOURCE_LABELS,
}
# `decision` means different things on different triggers.
DECISION_LABELS = {
    "decide_closure": {"approved": "批准关闭取缔", "rejected": "不予批准（继续停产整顿）"},
    "record_judicial_decision": {"filed": "立案", "not_filed": "不予立案"},
}

TIMER_LABELS = {
    "plan_due": "治理方案报送期限",
    "progress_due": "整改进度报告期限",
    "reminder": "整改期限临近提醒",
    "rectification": "整改期限届满",
    "escalation": "逾期升级提醒",
    "verification_due": "验收期限",
    "judicial_decision_due": "司法机关立案决定期限",
    "reconsideration_window": "申请复议期限",
    "reconsideration_answer_due": "复议决定期限",
    "closure_decision_due": "关闭决定期限",
}


def field_label(name: str) -> str:
    """A payload field's Chinese name (`plan.measures` → 采取的方法和措施)."""
    return FIELD_LABELS.get(name) or FIELD_LABELS.get(name.rsplit(".", 1)[-1], name)


def value_label(field: str, value: Any, trigger: str | None = None) -> str:
    """A payload value in words: a choice by its Chinese label, true/false as 是/否."""
    name = field.rsplit(".", 1)[-1]
    if name == "decision" and trigger in DECISION_LABELS:
        return DECISION_LABELS[trigger].get(value, str(value))
    labels = VALUE_LABELS.get(name)
    if labels is not None and _hashable(value) and value in labels:
        return labels[value]
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _hashable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


# -- the history's payloads in words ------------------------------------------------------

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def payload_words(
    trigger: str,
    payload: Any,
    china_time: Any,
    prefix: str = "",
    document_kinds: dict[str, str] | None = None,
) -> list[tuple[str, str]]:
    """(label, words) for each field of an event's payload, nested ones flattened with their
    parent's label; instants in China time, choices by their labels, lists joined, empty
    values left out; a document's kind by its name (`document_kinds`, from config)."""
    if not isinstance(payload, dict):
        return [("内容", str(payload))] if payload not in (None, {}) else []
    out: list[tuple[str, str]] = []
    for key, value in payload.items():
        path = f"{prefix}{key}"
        label = field_label(path)
        if value in (None, "", [], {}):
            continue
        if key == "officers" and isinstance(payload.get("document"), dict):
            continue  # the ids as typed: the document's resolved officers (names) say who
        if key == "kind" and (prefix == "document." or trigger == "document_issued"):
            out.append(("文书种类", (document_kinds or {}).get(value, str(value))))
            continue
        if isinstance(value, dict):
            inner = payload_words(trigger, value, china_time, f"{path}.", document_kinds)
            out += [(f"{label} · {k}" if not k.startswith(label) else k, v) for k, v in inner]
        elif isinstance(value, list):
            items = [_item(trigger, path, v, china_time) for v in value]
            out.append((label, "、".join(items) if items else "（无）"))
        else:
            out.append((label, _item(trigger, path, value, china_time)))
    return out


def _item(trigger: str, path: str, value: Any, china_time: Any) -> str:
    if isinstance(value, dict):
        # an officer ({id, name, certificate_no}) or a nested record: its fields in a line
        if "name" in value and "certificate_no" in value:
            return f"{value['name']}（执法证号 {value['certificate_no']}）"
        return "；".join(
            f"{field_label(k)}：{_item(trigger, k, v, china_time)}" for k, v in value.items()
        )
    if isinstance(value, str) and _ISO.fullmatch(value):
        from datetime import datetime

        return china_time(datetime.fromisoformat(value.replace("Z", "+00:00")))
    if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value):
        return value[:12] + "…"
    return value_label(path, value, trigger)


# -- refusals (409) and field errors (422) in Chinese ----------------------------------------


def _blocking(definition: Definition, reason: str) -> str | None:
    m = re.fullmatch(r"(\w+) is (\w+)", reason)
    if m is None or m[1] not in definition.region_by_field:
        return None
    region = definition.region_by_field[m[1]]
    return f"{region.label}处于「{region.states.get(m[2], m[2])}」"


_GUARD_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"the rectification deadline .* has passed"), "整改期限已过，不能再申请延期"),
    (re.compile(r"an extension request is already pending.*"), "已有一项延期申请待审批"),
    (re.compile(r"there is no pending extension request"), "没有待审批的延期申请"),
    (
        re.compile(r"the hazard is major and its plan lacks (.*): .*"),
        "重大事故隐患的治理方案缺少六要素中的：{0}；请先修改治理方案",
    ),
    (
        re.compile(r"the hazard (was reported as a violation|was not filed by the police).*"),
        "不得以整改代替处罚：请先登记行政处罚，或填写不予行政处罚的理由",
    ),
    (
        re.compile(r"only a general hazard the enterprise found in its own check.*"),
        "只有企业自查发现、政策允许的一般事故隐患可以企业自行整改",
    ),
    (re.compile(r"the hazard is not on the self-check path.*"), "该隐患不在企业自行整改流程中"),
]


def _guard_zh(definition: Definition, reason: str) -> str:
    blocked = _blocking(definition, reason)
    if blocked:
        return blocked
    for pattern, words in _GUARD_REASONS:
        m = pattern.fullmatch(reason)
        if m:
            groups = [
                "、".join(field_label(f"plan.{x.strip()}") for x in g.split(","))
                for g in m.groups()
            ]
            return words.format(*groups) if "{0}" in words else words
    return reason


# A rule's `source` in the workflow file is a citation, a colon, a note in English, then how
# sure it is. A person reading a refusal gets the citation in Chinese and the kind of source.
_SOURCE_KINDS = {
    "law": "法律法规",
    "practice": "工作实践",
    "ours": "本系统默认，非法定",
    "unsure": "出处待核实",
}
_SOURCE_WORDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bart\. ([\d, ]*\d)"), "ART"),  # art. 3, 5, 6 → 第3、5、6条
    (re.compile(r"SPEC\.md section (\d+)"), r"本系统规范第\1节"),
    (re.compile(r"\bpractice\b"), "实践"),
    (re.compile(r"\bQingdao\b"), "青岛"),
    (re.compile(r"the industry standards for judging major hazards"), "重大事故隐患判定标准"),
    (re.compile(r"\([A-Za-z][^)]*\)"), ""),  # an English aside in brackets
]


def _citation_zh(citation: str) -> str:
    for pattern, words in _SOURCE_WORDS:
        if words == "ART":
            citation = pattern.sub(
                lambda m: "第" + "、".join(n.strip() for n in m[1].split(",")) + "条", citation
            )
        else:
            citation = pattern.sub(words, citation)
    citation = re.split(r"(?:^|\s)[a-z]{2,}\b", citation)[0]  # the English note that follows
    citation = re.sub(r"条\s*,\s*第", "条、第", citation).replace("(", "（").replace(")", "）")
    citation = re.sub(r"(?<=[\u4e00-\u9fff）])\s+(?=[\u4e00-\u9fff（])", "", citation)
    return citation.strip(" ,")


def source_zh(source: str) -> str:
    """A rule's source as a person reads it: `安全生产法 art. 113: ... [law]` →
    安全生产法第113条（法律法规）; several parts joined by ；."""
    parts = []
    for part in source.split(";"):
        kinds = re.findall(r"\[(\w+)\]", part)
        citation = _citation_zh(re.sub(r"\[\w+\]", "", part.split(":")[0]))
        kind = "、".join(_SOURCE_KINDS[k] for k in kinds if k in _SOURCE_KINDS)
        if citation or kind:
            parts.append(f"{citation}（{kind}）" if citation and kind else citation or kind)
    return "；".join(dict.fromkeys(parts))


def refusal_zh(definition: Definition, exc: Any, trigger: str) -> str:
    """A 409 (state, guard, stale version) or 403 in one Chinese sentence."""
    label = definition.triggers[trigger].label if trigger in definition.triggers else trigger
    kind = type(exc).__name__
    if kind == "StaleVersion":
        return "该隐患在您打开页面之后已被他人更新，本次提交未生效。请查看最新情况后再操作。"
    if kind == "GuardFailed":
        reasons = "；".join(_guard_zh(definition, r) for r in exc.extra.get("reasons", []))
        sources = "；".join(source_zh(s) for s in exc.extra.get("sources", []))
        basis = f"依据：{sources}。" if sources else ""  # issue 14: the console shows the source
        return f"「{label}」未通过流程条件：{reasons}。{basis}本次提交未生效。"
    if kind == "TriggerNotAllowed":
        allowed = exc.extra.get("allowed_triggers") or []
        names = "、".join(definition.triggers[t].label for t in allowed if t in definition.triggers)
        return f"当前状态下不能「{label}」。现在可以：{names or '无'}。本次提交未生效。"
    if kind == "Forbidden":
        return f"您的角色无权「{label}」。本次提交未生效。"
    return f"「{label}」未能完成。本次提交未生效。"


_FIELD_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Field required"), "必填。"),
    (re.compile(r"required for a major hazard"), "重大事故隐患的治理方案必须写明此项。"),
    (re.compile(r"required for a general hazard"), "必填。"),
    (re.compile(r"required when the decision is filed.*"), "立案时必须填写立案编号。"),
    (re.compile(r"required while production is suspended.*"), "停产整顿期间必须附复产评估报告。"),
    (re.compile(r"required: the number of the listing document"), "必须填写挂牌督办的文件编号。"),
    (re.compile(r"must be in the future.*"), "必须晚于现在。"),
    (re.compile(r"must be at most (\d+) days ahead.*"), "不能晚于 {0} 天之后（请检查年份）。"),
    (re.compile(r"must be later than .*"), "必须晚于当前的整改期限。"),
    (re.compile(r"must not be after today.*"), "不能晚于今天。"),
    (re.compile(r"must not be in the future.*"), "不能晚于现在。"),
    (re.compile(r"must not be above your own level.*"), "不能高于您所在的层级。"),
    (re.compile(r".*is not evidence uploaded to this hazard"), "不是本隐患已上传的材料。"),
    (re.compile(r"must not be blank.*"), "不能为空。"),
    (re.compile(r"contains .* at position \d+.*"), "含有不允许的控制字符或换行，请删除后重试。"),
    (re.compile(r"String should have at most (\d+) characters?"), "不能超过 {0} 个字。"),
    (re.compile(r"List should have at least (\d+) items?.*"), "至少选择 {0} 项。"),
    (re.compile(r"List should have at most (\d+) items?.*"), "最多选择 {0} 项。"),
    (re.compile(r"needs at least two different officers"), "需要两名不同的人员。"),
    (re.compile(r"needs (\d+) different officers"), "需要 {0} 名不同的执法人员。"),
    (
        re.compile(r"required: the (\d+) enforcement officers.*"),
        "请选择签署文书的执法人员（共 {0} 名，您可以是其中之一）。",
    ),
    (
        re.compile(r"name (\d+) officers: you cannot be the other one.*"),
        "请选择 {0} 名执法人员：您本人不能作为另一名（没有执法证号或不在辖区）。",
    ),
    (re.compile(r".*no such person"), "没有这个人员。"),
    (re.compile(r".*has no enforcement certificate number.*"), "该人员没有执法证号。"),
    (re.compile(r".*the hazard is outside their region"), "该人员的辖区不包括这项隐患。"),
    (re.compile(r".*is not an enforcement officer.*"), "该人员不是执法人员。"),
    (re.compile(r".*revoked or expired"), "该人员的账号已停用。"),
    (
        re.compile(r"must name a standard for judging major hazards.*"),
        "须写明重大事故隐患判定标准及其条款，例如：工贸企业重大事故隐患判定标准 第四条。",
    ),
    (re.compile(r"Input should be greater than or equal to (\S+)"), "不能小于 {0}。"),
    (re.compile(r"Input should be less than or equal to (\S+)"), "不能大于 {0}。"),
    (re.compile(r"Input should be .*"), "请从给出的选项中选择。"),
    (re.compile(r"must be .*JSON number.*"), "请填写数字。"),
]


def field_error_zh(message: str) -> str:
    """A field's 422 message in Chinese (an unknown sentence: 输入有误 with the original)."""
    for pattern, words in _FIELD_ERRORS:
        m = pattern.fullmatch(message)
        if m:
            return words.format(*m.groups())
    return f"输入有误（{message}）"


def actor_words(actor: str) -> str:
    """`dispatcher:王督办` → 王督办（督办人员）; the timer engine → 系统."""
    role, _, name = actor.partition(":")
    if role == "system":
        return "系统（自动）"
    return f"{name}（{ROLE_LABELS.get(role, role)}）" if name else actor
