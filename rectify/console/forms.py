"""The hazard page's trigger forms, derived from each trigger's payload model
(`rectify.hazards.triggers`): one input per payload field, named after it (nested fields joined
with a dot: `plan.measures`), and the way back from the posted form to the payload the API
would take (strings to numbers, China time to ISO 8601, CRLF to LF), so that the console and
the API hand the same payload to the same service.

Nothing here decides what is valid: a value that cannot even be read (a number field holding
"abc", a time that does not exist) is named back to its field; everything else is left to the
trigger's own rules in the service, whose 422 comes back beside the same fields.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel
from starlette.datastructures import FormData

from rectify import inputs
from rectify.console.labels import FIELD_HINTS, FIELD_LABELS, field_label, value_label
from rectify.hazards.triggers import REGISTRY
from rectify.hazards.triggers.base import PLAN_ELEMENTS
from rectify.timers.policy import CHINA_TZ

__all__ = ["Choice", "FormField", "fields_of", "local_value", "payload_of"]

# Fields whose values are the sha256 of evidence uploaded to the hazard (chosen from a list).
EVIDENCE_LISTS = {"evidence", "attachments"}
EVIDENCE_ONE = {"evaluation_report"}
# Optional in the model (the system leaves them out), required of a person (the trigger's rules).
REQUIRED_OF_PEOPLE = {"list_for_supervision.document_no"}


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass
class FormField:
    """One input of a trigger's form."""

    name: str  # the payload path: `assignee`, `plan.measures`
    label: str
    widget: str  # text, textarea, datetime, date, money, integer, select, checks, officers, names
    required: bool = False
    choices: list[Choice] = field(default_factory=list)
    hint: str = ""
    max_length: int | None = None
    slots: int = 1  # officers / names: how many inputs of the same name


def _unwrap(annotation: Any) -> tuple[Any, list[Any], bool]:
    """(the type, its Annotated metadata, whether None is allowed)."""
    optional = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            annotation = args[0]
    metadata: list[Any] = []
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *metadata = typing.get_args(annotation)
    return annotation, metadata, optional


def _validators(metadata: list[Any]) -> set[Any]:
    return {getattr(m, "func", None) for m in metadata}


def _max_length(metadata: list[Any]) -> int | None:
    for m in metadata:
        if getattr(m, "max_length", None):
            return m.max_length
    return None


def _widget(name: str, annotation: Any, metadata: list[Any]) -> FormField:
    base, inner_meta, _ = _unwrap(annotation)
    metadata = [*metadata, *inner_meta]
    found = _validators(metadata)
    label = field_label(name)
    leaf = name.rsplit(".", 1)[-1]
    if typing.get_origin(base) is Literal or (isinstance(base, type) and issubclass(base, Enum)):
        values = typing.get_args(base) or [m.value for m in base]  # type: ignore[union-attr]
        choices = [Choice(str(v), value_label(name, v)) for v in values]
        return FormField(name, label, "select", choices=choices)
    if typing.get_origin(base) is list:
        (item,) = typing.get_args(base)
        item_type, _, _ = _unwrap(item)
        if typing.get_origin(item_type) is Literal:
            values = typing.get_args(item_type)
            return FormField(
                name, label, "checks", choices=[Choice(v, value_label(name, v)) for v in values]
            )
        if leaf in EVIDENCE_LISTS:
            return FormField(name, label, "evidence")
        if typing.get_origin(item_type) in (typing.Union, types.UnionType):
            return FormField(name, label, "officers", slots=2)  # principal ids or usernames
        return FormField(name, label, "names", slots=2)
    if leaf in EVIDENCE_ONE:
        return FormField(name, label, "evidence_one")
    if base is datetime:
        return FormField(name, label, "datetime")
    if base is date:
        return FormField(name, label, "date")
    if base is bool:
        choices = [
            Choice("true", value_label(name, True)),
            Choice("false", value_label(name, False)),
        ]
        return FormField(name, label, "select", choices=choices)
    if base is float:
        return FormField(name, label, "money")
    if base is int:
        return FormField(name, label, "integer")
    widget = "textarea" if inputs._long in found else "text"
    return FormField(name, label, widget, max_length=_max_length(metadata))


def fields_of(trigger: str, *, grade: str = "general") -> list[FormField]:
    """The inputs of a trigger's form, in the payload model's order (a nested model's fields
    after its name: `plan.goals` ...); the plan's elements required by the hazard's grade."""
    model = REGISTRY[trigger]
    out: list[FormField] = []
    for name, info in model.model_fields.items():
        base, _, _ = _unwrap(info.annotation)
        if isinstance(base, type) and issubclass(base, BaseModel):
            needed = PLAN_ELEMENTS.get(grade, ()) if name == "plan" else ()
            for sub, sub_info in base.model_fields.items():
                f = _widget(f"{name}.{sub}", sub_info.annotation, list(sub_info.metadata))
                f.required = sub in needed
                f.hint = FIELD_HINTS.get(f.name, "")
                out.append(f)
            continue
        f = _widget(name, info.annotation, list(info.metadata))
        f.required = info.is_required() or f"{trigger}.{name}" in REQUIRED_OF_PEOPLE
        f.label = FIELD_LABELS.get(f"{trigger}.{name}", f.label)  # a trigger's own wording
        f.hint = FIELD_HINTS.get(f"{trigger}.{name}", FIELD_HINTS.get(name, ""))
        out.append(f)
    return out


# -- from the posted form to the payload ---------------------------------------------------

_LOCAL = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def china_instant(value: str) -> str:
    """A datetime-local value typed in China time as an aware ISO 8601 instant in UTC;
    ValueError in Chinese when it is not a time that exists."""
    m = _LOCAL.fullmatch(value.strip())
    if m is None:
        raise ValueError("请按北京时间填写日期和时间，例如 2026-12-01 14:30。")
    year, month, day, hour, minute = (int(x) for x in m.groups()[:5])
    try:
        local = datetime(year, month, day, hour, minute, int(m[6] or 0), tzinfo=CHINA_TZ)
    except ValueError:
        raise ValueError("没有这个日期或时间，请检查后重新填写。") from None
    return local.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_value(moment: datetime | None) -> str:
    """A datetime-local field's value for an instant, in China time, to the minute."""
    return "" if moment is None else moment.astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")


def _one(f: FormField, raw: str) -> Any:
    """One typed value as the payload takes it (ValueError in Chinese if it cannot be read)."""
    if f.widget == "textarea":
        return raw.replace("\r\n", "\n").replace("\r", "\n")
    if f.widget == "datetime":
        return china_instant(raw)
    if f.widget in ("money", "integer"):
        text = raw.strip().replace(",", "").replace("，", "")
        if not _NUMBER.fullmatch(text) or (f.widget == "integer" and "." in text):
            raise ValueError(
                "请填写整数。" if f.widget == "integer" else "请填写数字，例如 5000 或 5000.50。"
            )
        number = float(text) if "." in text else int(text)
        return number
    if (
        f.widget == "select"
        and raw in ("true", "false")
        and all(c.value in ("true", "false") for c in f.choices)
    ):
        return raw == "true"
    return raw


def _set(payload: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for p in parents:
        payload = payload.setdefault(p, {})
    payload[leaf] = value


def payload_of(
    fields: list[FormField], form: FormData
) -> tuple[dict[str, Any], dict[str, str], dict[str, list[str]]]:
    """(payload, errors by field name in Chinese, what was typed by field name). An empty
    input is left out of the payload (the trigger's rules say whether it was needed); a
    nested model is always sent (`plan: {}`) so that its required elements are named."""
    payload: dict[str, Any] = {}
    errors: dict[str, str] = {}
    typed: dict[str, list[str]] = {}
    for f in fields:
        values = [v for v in form.getlist(f.name) if isinstance(v, str)]
        typed[f.name] = values
        if "." in f.name:
            payload.setdefault(f.name.split(".", 1)[0], {})
        if f.widget in ("checks", "evidence", "names", "officers"):
            chosen = [v.strip() for v in values if v.strip()]
            if f.widget == "officers":
                chosen = [int(v) if v.isdigit() and len(v) < 19 else v for v in chosen]  # type: ignore[misc]
            # An empty required list is sent (its rule names it); officers never: the document
            # rule explains what is missing better than "at least 1 item".
            if chosen or (f.required and f.widget != "officers"):
                _set(payload, f.name, chosen)
            continue
        raw = values[0] if values else ""
        if not raw.strip():
            continue
        try:
            _set(payload, f.name, _one(f, raw))
        except ValueError as exc:
            errors[f.name] = str(exc)
    return payload, errors, typed
