"""The documents configuration (`config/documents.toml`): which step issues which kind, the
issuing offices, each kind's number template, officers, rights of remedy and wording; checked
at start-up so that a bad file stops the service rather than a document."""

from __future__ import annotations

import string
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rectify.exceptions import ConfigurationError

__all__ = [
    "OFFICER_TRIGGERS",
    "PLACEHOLDERS",
    "DocumentsConfig",
    "Kind",
    "Office",
    "fill",
    "load_documents",
]

PLACEHOLDERS = frozenset(
    (
        *("enterprise", "credit_code", "organ", "hazard_title", "description", "deadline"),
        *("new_deadline", "assignee", "level", "reason", "findings", "note", "legal_basis"),
        *("receiving_organ", "case_summary", "order_number", "order_date", "penalty", "act"),
        *("reconsideration_body", "court", "procuratorate", "reconsideration_days"),
        *("lawsuit_months", "filing_days", "progress_days"),
    )
)
"""What wording may name (rectify.documents.snapshot fills them)."""

OFFICER_TRIGGERS = frozenset({"assign", "verify_pass", "verify_fail", "order_suspension"})
"""The steps whose payload may name `officers` by principal (transfer_to_judicial's `officers`
are names, SPEC 2): only they can issue a kind signed by two officers."""

NUMBER_FIELDS = frozenset({"office", "year", "seq"})


def _names(text: str) -> set[str]:
    """The placeholders a text names ({name} or {name:03d})."""
    try:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None


class Office(BaseModel):
    """An issuing office (one region code): its organ, abbreviation and remedy bodies."""

    model_config = ConfigDict(extra="forbid")

    abbreviation: str
    organ: str = Field(min_length=1)
    reconsideration_body: str = Field(min_length=1)
    court: str = Field(min_length=1)
    procuratorate: str = Field(min_length=1)
    organs: dict[str, str] = {}  # kind → another organ of the same office (安委办 for listings)

    def organ_for(self, kind: str) -> str:
        return self.organs.get(kind, self.organ)


class Variant(BaseModel):
    """What one issuing step changes of its kind."""

    model_config = ConfigDict(extra="forbid")

    remedies: bool | None = None
    wording: dict[str, str] = {}


class Kind(BaseModel):
    """One kind of document."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    number: str
    template: str
    officers: int = Field(ge=0, le=2)
    remedies: bool
    act: str
    legal_basis: str
    attachments: list[str] = []
    wording: dict[str, str]
    by_trigger: dict[str, Variant] = {}

    @model_validator(mode="after")
    def _placeholders(self) -> Kind:
        unknown = _names(self.number) - NUMBER_FIELDS
        if unknown or "seq" not in _names(self.number):
            raise ValueError(f"number {self.number!r} must use {{seq}} and only office/year/seq")
        texts = [*self.wording.values()]
        texts += [t for v in self.by_trigger.values() for t in v.wording.values()]
        for text in texts:
            bad = _names(text) - PLACEHOLDERS
            if bad:
                raise ValueError(f"unknown placeholder(s) {sorted(bad)} in {text!r}")
        return self

    def remedies_for(self, trigger: str) -> bool:
        variant = self.by_trigger.get(trigger)
        return self.remedies if variant is None or variant.remedies is None else variant.remedies

    def wording_for(self, trigger: str) -> dict[str, str]:
        variant = self.by_trigger.get(trigger)
        return self.wording | (variant.wording if variant else {})


class Render(BaseModel):
    model_config = ConfigDict(extra="forbid")

    font_dirs: list[Path]
    body_font: str
    heading_font: str
    templates: Path


class Remedies(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reconsideration_days: int = Field(ge=1)
    lawsuit_months: int = Field(ge=1)
    text: str


class DocumentsConfig(BaseModel):
    """The whole file, checked against itself."""

    model_config = ConfigDict(extra="forbid")

    render: Render
    issue: dict[str, str]
    remedies: Remedies
    offices: dict[str, Office]
    kinds: dict[str, Kind]

    @model_validator(mode="after")
    def _consistent(self) -> DocumentsConfig:
        problems = [f"issue.{t}: no kind {k}" for t, k in self.issue.items() if k not in self.kinds]
        for trigger, kind in self.issue.items():
            if kind in self.kinds and self.kinds[kind].officers and trigger not in OFFICER_TRIGGERS:
                problems.append(
                    f"issue.{trigger}: {kind} needs officers, but {trigger} cannot name them "
                    f"(only {', '.join(sorted(OFFICER_TRIGGERS))})"
                )
        if "default" not in self.offices:
            problems.append("offices.default is missing")
        problems += [
            f"offices.{code}: not a 6-digit region code"
            for code in self.offices
            if code != "default" and not (len(code) == 6 and code.isdigit())
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def office(self, region_code: str) -> tuple[str, Office]:
        """The office of a region code: (its key, the office); `default` when unconfigured."""
        found = self.offices.get(region_code)
        return (region_code, found) if found else ("default", self.offices["default"])

    def kind_of(self, trigger: str) -> str | None:
        """The kind a trigger issues (None: it issues nothing)."""
        return self.issue.get(trigger)

    def template_dir(self, base: Path) -> Path:
        folder = self.render.templates
        return folder if folder.is_absolute() else base / folder


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def fill(text: str, values: dict[str, Any]) -> str:
    """Wording with its placeholders filled (one the step cannot fill is left empty)."""
    return text.format_map(_Blank({k: "" if v is None else v for k, v in values.items()}))


def load_documents(path: Path) -> DocumentsConfig:
    """Read and check config/documents.toml (and that every kind's template file exists)."""
    try:
        with path.open("rb") as f:
            config = DocumentsConfig.model_validate(tomllib.load(f))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigurationError(f"documents file {path}: {exc}") from exc
    folder = config.template_dir(path.parent)
    missing = [k.template for k in config.kinds.values() if not (folder / k.template).is_file()]
    if missing:
        raise ConfigurationError(f"documents file {path}: templates missing in {folder}: {missing}")
    render = config.render.model_copy(update={"templates": folder})
    return config.model_copy(update={"render": render})
