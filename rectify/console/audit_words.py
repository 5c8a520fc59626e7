"""The audit's findings in Chinese for the console: chain breaks (verify, a checkpoint line, one
hazard's chain) and replay divergences, each with the English original kept beside it.

The checks themselves (`audit.chain.ChainWalker`, `audit.checkpoints`, `audit.replay`) word
their findings in English for the API and the CLI; this module only translates those sentences.
A sentence it does not know still reads as a finding ("校验未通过") with its original, and a test
produces every kind of break and divergence to keep the two in step.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from rectify.auth.models import ROLE_LABELS
from rectify.hazards.words import GRADE_LABELS, LEVEL_LABELS, PENALTY_KINDS
from rectify.workflow.definition import Definition

__all__ = [
    "FIELD_LABELS",
    "GRADE_LABELS",
    "LEVEL_LABELS",
    "PENALTY_KINDS",
    "RESOLUTION_LABELS",
    "UNKNOWN_BREAK",
    "break_zh",
    "divergence_zh",
    "trigger_label",
]

RESOLUTION_LABELS = {"rectified": "整改销号", "dismissed": "撤销", "shut_down": "关闭取缔"}
# The hazard's columns replay rebuilds (audit.replay.REBUILT) and what its result shows.
FIELD_LABELS = {
    "grade": "隐患等级",
    "supervision_level": "督办级别",
    "deadline": "整改期限",
    "deadline_provisional": "期限按临时日历计算",
    "resolution": "结案方式",
    "verify_failures": "验收不合格次数",
    "penalty_count": "行政处罚次数",
    "penalties": "行政处罚记录数",
    "plan": "治理方案",
    "pending_extension": "待审批的延期申请",
    "assignee": "整改责任人",
    "version": "版本（事件数）",
    "head_hash": "链头哈希",
}
UNKNOWN_BREAK = "校验未通过（原因见英文原文）"

_Sub = Callable[[re.Match[str]], str]


def _seq_range(m: re.Match[str]) -> str:
    first, last = m["a"], m["b"]
    span = f"第 {first} 号事件" if first == last else f"第 {first}–{last} 号事件"
    return f"{span}缺失（可能被删除）"


# Whole sentences first (some hold "; " themselves), then the parts a walker joins with "; ".
_WHOLE: list[tuple[re.Pattern[str], str | _Sub]] = [
    (
        re.compile(
            r"checkpoint #(?P<n>\d+) sealed (?P<h>\d+) chains / (?P<e>\d+) events "
            r"\(root (?P<r>\w+)…\); the events now give (?P<h2>\d+) chains / (?P<e2>\d+) events "
            r"\(root (?P<r2>\w+)…\): chains were deleted, truncated or rewritten"
        ),
        "检查点 #{n} 封存了 {h} 条链、{e} 个事件（根 {r}…）；现在的事件只能给出 {h2} 条链、"
        "{e2} 个事件（根 {r2}…）：有链被删除、截断或改写",
    ),
    (
        re.compile(
            r"checkpoint #(?P<n>\d+) sealed hazard_seq (?P<s>\d+) as this chain's head "
            r"\(hash (?P<x>\w+)…\); that event is gone: the chain was truncated or deleted"
        ),
        "检查点 #{n} 封存的链头是第 {s} 号事件（哈希 {x}…）；该事件已不存在：这条链被截断或删除",
    ),
    (
        re.compile(
            r"checkpoint #(?P<n>\d+) sealed hazard_seq (?P<s>\d+) as this chain's head "
            r"\(hash (?P<x>\w+)…\); that event was rewritten"
        ),
        "检查点 #{n} 封存的链头是第 {s} 号事件（哈希 {x}…）；该事件已被改写",
    ),
    (
        re.compile(
            r"hazard (?P<h>\d+) is at version (?P<v>\d+), head (?P<x>\w+)…; its chain ends at "
            r"hazard_seq (?P<s>\d+), hash (?P<y>\w+)… \(newest events deleted or altered\)"
        ),
        "隐患 {h} 的记录为第 {v} 版、链头哈希 {x}…；其链止于第 {s} 号事件、哈希 {y}…"
        "（最新的事件被删除或改动）",
    ),
    (
        re.compile(
            r"hazard (?P<h>\d+) is at version (?P<v>\d+) but its chain ends at hazard_seq "
            r"(?P<s>\d+): the chain is shorter than the hazard's version \(newest events deleted\)"
        ),
        "隐患 {h} 的记录为第 {v} 版，但其链只到第 {s} 号事件：链比版本短（最新的事件被删除）",
    ),
    (
        re.compile(
            r"hazard (?P<h>\d+) has no events although it is at version (?P<v>\d+): its chain "
            r"of \d+ events is gone \(missing: deleted\)"
        ),
        "隐患 {h} 的记录为第 {v} 版，却没有任何事件：整条链已被删除",
    ),
    (
        re.compile(r"checkpoint #(?P<n>\d+): prev (?P<p>\w+)… is not the previous hash"),
        "检查点 #{n}：其“前一哈希” {p}… 不是上一个检查点的哈希（检查点被删除或改动）",
    ),
    (
        re.compile(r"checkpoint #(?P<n>\d+): its line or hash does not match its fields"),
        "检查点 #{n}：其发布行或哈希与各字段不符（检查点被改动）",
    ),
    (
        re.compile(r"the database has no checkpoint #(?P<n>\d+): it was deleted"),
        "数据库中没有检查点 #{n}：它已被删除",
    ),
    (
        re.compile(r"the database's checkpoint #(?P<n>\d+) reads differently: (?P<line>.*)"),
        "数据库中的检查点 #{n} 与所发布的行不同，库中为：{line}",
    ),
    (re.compile(r"events of a hazard that has no row"), "有事件，但隐患记录本身不存在（被删除）"),
]
_PARTS: list[tuple[re.Pattern[str], str | _Sub]] = [
    (re.compile(r"hazard_seq (?P<a>\d+)–(?P<b>\d+) missing \(deleted\?\)"), _seq_range),
    (
        re.compile(r"hazard_seq (?P<x>\S+) where (?P<y>\d+) was due"),
        "链内序号为 {x}，此处应为 {y}（序号重复、错乱或被改动）",
    ),
    (
        re.compile(r"prev_hash (?P<a>\w*)… does not link to (?P<b>\w*)…"),
        "“前一哈希” {a}… 与上一个事件的哈希 {b}… 不衔接",
    ),
    (re.compile(r"the event's content cannot be read"), "事件内容无法读取（已损坏）"),
    (
        re.compile(r"hash mismatch: the event was changed after it was written"),
        "哈希不符：事件在写入之后被改动过",
    ),
]


def _apply(rules: list[tuple[re.Pattern[str], str | _Sub]], text: str) -> str | None:
    for pattern, wording in rules:
        m = pattern.fullmatch(text)
        if m:
            return wording(m) if callable(wording) else wording.format(**m.groupdict())
    return None


def break_zh(reason: str) -> str:
    """A chain or checkpoint break in Chinese (UNKNOWN_BREAK for a sentence not known here)."""
    whole = _apply(_WHOLE, reason)
    if whole is not None:
        return whole
    parts = [_apply(_PARTS, part) for part in reason.split("; ")]
    if any(p is None for p in parts):
        return UNKNOWN_BREAK
    return "；".join(p for p in parts if p)


def trigger_label(definition: Definition, trigger: str) -> str:
    """A trigger's Chinese label from the workflow definition (the name itself if unknown)."""
    spec = definition.triggers.get(trigger)
    return spec.label if spec is not None else trigger


def _state_words(definition: Definition, state: Any) -> str:
    """{'state': 'assigned', ...} as 整改主线「已交办」、挂牌督办「未挂牌」..."""
    if not isinstance(state, dict):
        return "（无）" if state is None else str(state)
    words = []
    for field, value in state.items():
        region = definition.region_by_field.get(field)
        if region is None:
            words.append(f"{field}「{value}」")
        else:
            words.append(f"{region.label}「{region.states.get(value, value)}」")
    return "、".join(words)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _states(definition: Definition, detail: str, pattern: str, sentence: str) -> str | None:
    m = re.fullmatch(pattern, detail)
    if m is None:
        return None
    recorded, replayed = _literal(m["a"]), _literal(m["b"])
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        fields = [f for f in replayed if recorded.get(f) != replayed.get(f)] or list(replayed)
        recorded = {f: recorded.get(f) for f in fields}
        replayed = {f: replayed[f] for f in fields}
    return sentence.format(
        a=_state_words(definition, recorded), b=_state_words(definition, replayed)
    )


def _trigger(definition: Definition, detail: str) -> str:
    label = lambda name: trigger_label(definition, name)  # noqa: E731
    if m := re.fullmatch(r"(\w+) cannot start a hazard's history", detail):
        return f"「{label(m[1])}」不能作为隐患历史的第一个事件"
    if m := re.fullmatch(r"a (\w+) may not fire (\w+)", detail):
        return f"{ROLE_LABELS.get(m[1], m[1])}无权触发「{label(m[2])}」"
    if m := re.fullmatch(r"(\w+) is not a trigger of (\S+) v(\d+)", detail):
        return f"「{m[1]}」不是流程 {m[2]} 第 {m[3]} 版中的触发事件"
    if m := re.fullmatch(r"(\w+) is not allowed in (.*); allowed now: (.*)", detail):
        allowed = [label(t.strip()) for t in m[3].split(",") if t.strip() not in ("", "none")]
        return (
            f"按流程规则，当时不允许「{label(m[1])}」；当时允许的是：{'、'.join(allowed) or '无'}"
        )
    if m := re.fullmatch(r"(\w+) refused: (.*)", detail):
        return f"「{label(m[1])}」不满足当时的条件（见英文原文）"
    return "该事件的触发在当时不被流程允许（见英文原文）"


def _stored(detail: str) -> str:
    m = re.fullmatch(r"the hazard row has (\w+) (.*), the events give (.*)", detail)
    if m is None:
        return "隐患记录与其历史事件不一致（见英文原文）"
    name = FIELD_LABELS.get(m[1], m[1])
    return f"隐患记录中的「{name}」为 {m[2]}，按历史事件重放却得出 {m[3]}：记录与历史不一致"


def divergence_zh(definition: Definition, divergence: dict[str, Any]) -> str:
    """One replay divergence in Chinese (its `kind` and `detail` as audit.replay gives them)."""
    kind, detail = divergence.get("kind"), str(divergence.get("detail", ""))
    if kind == "hash":
        return break_zh(detail)
    if kind == "from":
        pattern = r"recorded from (?P<a>.*), replay is at (?P<b>.*)"
        said = _states(definition, detail, pattern, "记录的原状态是 {a}，重放到此处却是 {b}")
        return said or "记录的原状态与重放结果不一致（见英文原文）"
    if kind == "to":
        pattern = r"recorded to (?P<a>.*), the definition gives (?P<b>.*)"
        said = _states(definition, detail, pattern, "记录的新状态是 {a}，流程定义给出的却是 {b}")
        return said or "记录的新状态与流程定义不一致（见英文原文）"
    if kind == "workflow":
        m = re.fullmatch(r"ran under (\S+) v(\d+), the hazard is pinned to (\S+) v(\d+)", detail)
        if m:
            return f"该事件按流程 {m[1]} 第 {m[2]} 版运行，而隐患锁定的是 {m[3]} 第 {m[4]} 版"
        return "该事件运行的流程版本与隐患锁定的版本不同（见英文原文）"
    if kind == "time":
        return "该事件的时间早于前一个事件（时间被改动或顺序错乱）"
    if kind == "trigger":
        return _trigger(definition, detail)
    if kind == "payload":
        return "该事件记录的内容无法读取，重放时略过了它的效果"
    if kind == "stored":
        return _stored(detail)
    return "重放发现不一致（见英文原文）"
