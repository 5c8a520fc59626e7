"""Issuing a document inside the step that issues it (called by `hazards.service.apply`).

    prepare   before anything changes: which kind, which office, the officers (422 naming
              `payload.officers`); reads only, so a refusal leaves the transaction untouched
    allocate  once the step is checked: the number, from the counter row, in this transaction
    stamp     the kind and number (and the officers) into the issuing event's payload
    queue     the pending document row with its snapshot; rendered after commit (`worker`)

A refused step takes no number; a rolled-back one gives its number back with its counter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from rectify.audit.chain import canonical_json
from rectify.auth.models import Principal
from rectify.auth.people import normalise_username
from rectify.auth.scope import Caller, region_prefix
from rectify.database.uow import UnitOfWork
from rectify.documents import numbering, snapshot
from rectify.documents.config import Kind, Office
from rectify.documents.models import Document
from rectify.enterprises.models import Enterprise
from rectify.evidence.models import Evidence
from rectify.exceptions import FieldError, InvalidInput
from rectify.hazards.row import HazardRow
from rectify.timers.policy import CHINA_TZ

if TYPE_CHECKING:
    from rectify.context import Context

__all__ = ["Issuing", "prepare"]

DOCUMENTS = Document.__table__  # type: ignore[attr-defined]
PRINCIPALS = Principal.__table__  # type: ignore[attr-defined]
ENTERPRISES = Enterprise.__table__  # type: ignore[attr-defined]
EVIDENCE = Evidence.__table__  # type: ignore[attr-defined]
OFFICER_ROLES = ("inspector", "dispatcher")


@dataclass
class Issuing:
    """One document a checked step is about to issue."""

    ctx: Context
    trigger: str
    kind_name: str
    kind: Kind
    office_key: str  # the counter's office: a region code, or default:<region>
    office: Office
    officers: list[dict[str, Any]]
    now: datetime
    number: str = ""
    year: int = 0
    seq: int = 0
    recorded: dict[str, Any] = field(default_factory=dict)

    def allocate(self, uow: UnitOfWork) -> str:
        """Take the next number of this office, kind and year (China time)."""
        self.year = self.now.astimezone(CHINA_TZ).year
        self.seq = numbering.next_seq(
            uow, office=self.office_key, kind=self.kind_name, year=self.year
        )
        self.number = self.kind.number.format(
            office=self.office.abbreviation, year=self.year, seq=self.seq
        )
        return self.number

    def stamp(self, recorded: dict[str, Any]) -> dict[str, Any]:
        """The issuing event's payload, saying which document this step issued."""
        document: dict[str, Any] = {"kind": self.kind_name, "number": self.number}
        if self.officers:
            document["officers"] = self.officers
        self.recorded = {**recorded, "document": document}
        return self.recorded

    def queue(self, uow: UnitOfWork, hazard: HazardRow, hazard_seq: int, timers: list) -> None:
        """The pending document row and its snapshot, in the step's transaction."""
        facts = snapshot.Facts(
            config=self.ctx.documents,
            kind_name=self.kind_name,
            kind=self.kind,
            trigger=self.trigger,
            office=self.office,
            number=self.number,
            now=self.now,
            hazard=hazard,
            enterprise=_enterprise(uow, hazard.enterprise_id),
            payload=self.recorded,
            officers=self.officers,
            policy=self.ctx.policy,
            order=_order(uow, self.ctx, hazard.id) if self.trigger.startswith("verify") else None,
            files=_files(uow, hazard.id, self.recorded.get("attachments", [])),
            filing_due=_scheduled(timers, "judicial_decision_due"),
        )
        row = {"hazard_id": hazard.id, "kind": self.kind_name, "office": self.office_key}
        row |= {"year": self.year, "seq": self.seq, "number": self.number}
        row |= {"trigger": self.trigger, "hazard_seq": hazard_seq, "issued_at": self.now}
        row |= {"snapshot": canonical_json(snapshot.build(facts)), "status": "pending"}
        row |= {"attempts": 0, "next_attempt_at": self.now}
        uow.add(DOCUMENTS, row)
        from rectify.documents import worker

        uow.on_commit(worker.wake)


def prepare(
    *,
    uow: UnitOfWork,
    ctx: Context,
    caller: Caller,
    hazard: HazardRow,
    trigger: str,
    payload: dict[str, Any],
) -> Issuing | None:
    """The document this step issues (None: none), checked; InvalidInput when the officers
    the kind needs are missing or unfit. Reads only."""
    config = ctx.documents
    kind_name = config.kind_of(trigger) if config else None
    if config is None or kind_name is None:
        return None
    kind = config.kinds[kind_name]
    region = _office_region(caller, hazard, payload)
    key, office = config.office(region)
    officers = (
        _officers(uow, ctx, caller, hazard, payload.get("officers") or [], kind)
        if kind.officers
        else []
    )
    return Issuing(
        ctx=ctx,
        trigger=trigger,
        kind_name=kind_name,
        kind=kind,
        office_key=key if key != "default" else f"default:{region}",
        office=office,
        officers=officers,
        now=ctx.now(),
    )


def _office_region(caller: Caller, hazard: HazardRow, payload: dict[str, Any]) -> str:
    """The issuing office's region code: the caller's own; for the system, the hazard's region
    at the listing's level."""
    if caller.region_code and caller.role != "system":
        return caller.region_code
    code = hazard.region_code[:6]
    level = payload.get("level")
    if level == "city":
        return code[:4] + "00"
    if level == "province":
        return code[:2] + "0000"
    return code


# -- officers --------------------------------------------------------------------------------
def _officers(
    uow: UnitOfWork,
    ctx: Context,
    caller: Caller,
    hazard: HazardRow,
    named: list[Any],
    kind: Kind,
) -> list[dict[str, Any]]:
    """The officers who sign: those named, with the caller first when only one is named.
    Each must be an active inspector or dispatcher whose region covers the hazard and who has
    an enforcement certificate number (执法证号)."""
    need = kind.officers
    if not named:
        if ctx.settings.documents_require_officers:
            raise _invalid(
                "officers",
                f"required: the {need} enforcement officers who sign the {kind.name} "
                "(principal ids or usernames; name one colleague and you are the other)",
            )
        own = _lookup(uow, caller.principal_id) if caller.principal_id else None
        return [_public(own)] if own is not None and _fit(own, hazard, ctx.now()) is None else []
    errors: list[FieldError] = []
    found: list[Any] = []
    for i, ref in enumerate(named):
        row = _lookup(uow, ref)
        problem = "no such person" if row is None else _fit(row, hazard, ctx.now())
        if problem:
            errors.append(_error(f"officers.{i}", f"{ref!r}: {problem}"))
        else:
            found.append(row)
    if errors:
        raise InvalidInput.fields(errors)
    if len(found) < need and all(o.id != caller.principal_id for o in found):
        own = _lookup(uow, caller.principal_id) if caller.principal_id else None
        problem = "you are not a principal" if own is None else _fit(own, hazard, ctx.now())
        if problem:
            raise _invalid(
                "officers",
                f"name {need} officers: you cannot be the other one ({problem})",
            )
        found.insert(0, own)
    if len({o.id for o in found}) < need:
        raise _invalid("officers", f"needs {need} different officers")
    return [_public(o) for o in found[:need]]


def _lookup(uow: UnitOfWork, ref: Any) -> Any:
    p = PRINCIPALS.c
    by_id = isinstance(ref, int)
    where = p.id == ref if by_id else p.username == normalise_username(str(ref))
    return uow.execute(select(PRINCIPALS).where(where)).first()


def _fit(row: Any, hazard: HazardRow, now: datetime) -> str | None:
    """Why this principal cannot sign for this hazard (None: they can)."""
    if row.role not in OFFICER_ROLES:
        return f"a {row.role} is not an enforcement officer (inspector or dispatcher)"
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return "revoked or expired"
    if not row.region_code or not hazard.region_code.startswith(region_prefix(row.region_code)):
        return "the hazard is outside their region"
    if not row.certificate_no:
        return "has no enforcement certificate number (执法证号): set it with --certificate-no"
    return None


def _public(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.display_name, "certificate_no": row.certificate_no}


def _error(name: str, message: str) -> FieldError:
    return {"field": f"payload.{name}", "message": message}


def _invalid(name: str, message: str) -> InvalidInput:
    return InvalidInput.fields([_error(name, message)])


# -- what the snapshot reads -------------------------------------------------------------------
def _enterprise(uow: UnitOfWork, enterprise_id: int) -> dict[str, Any]:
    row = uow.execute(_ENTERPRISE, {"eid": enterprise_id}).one()
    return {"name": row.name, "credit_code": row.credit_code}


# Built once: every issuing step runs them.
_ENTERPRISE = select(ENTERPRISES.c.name, ENTERPRISES.c.credit_code).where(
    ENTERPRISES.c.id == bindparam("eid")
)
_ORDER = (
    select(DOCUMENTS.c.number, DOCUMENTS.c.issued_at)
    .where(DOCUMENTS.c.hazard_id == bindparam("hid"), DOCUMENTS.c.kind == bindparam("kind"))
    .order_by(DOCUMENTS.c.id)
    .limit(1)
)


def _order(uow: UnitOfWork, ctx: Context, hazard_id: int) -> dict[str, Any] | None:
    """The hazard's first 责令限期整改指令书 (what a review refers to)."""
    kind = ctx.documents.kind_of("assign") if ctx.documents else None
    if kind is None:  # `kind = NULL` matches no row
        return None
    row = uow.execute(_ORDER, {"hid": hazard_id, "kind": kind}).first()
    return None if row is None else {"number": row.number, "issued_at": row.issued_at}


def _files(uow: UnitOfWork, hazard_id: int, shas: list[str]) -> tuple[dict[str, str], ...]:
    if not shas:
        return ()
    v = EVIDENCE.c
    stmt = select(v.sha256, v.filename).where(v.hazard_id == hazard_id, v.sha256.in_(shas))
    names = {r.sha256: r.filename for r in uow.execute(stmt)}
    return tuple({"name": names.get(s) or "电子材料", "sha256": s} for s in shas)


def _scheduled(timers: list, kind: str) -> datetime | None:
    """When the step's effect scheduled a timer of this kind."""
    for op in timers:
        if op[0] == "schedule" and op[1] == kind:
            due = op[2]
            return getattr(due, "at", due)
    return None
