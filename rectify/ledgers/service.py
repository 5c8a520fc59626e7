"""Use cases for the ledgers (台账): list the kinds, check a request's filters, and stream one
ledger in the caller's scope as CSV or XLSX (one read pass per ledger, constant memory)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from rectify.auth.scope import Caller, region_prefix
from rectify.context import Context
from rectify.exceptions import InvalidInput, NotFound
from rectify.ledgers.kinds import KINDS, LedgerFilters, Reader
from rectify.ledgers.writers import csv_chunks, xlsx_chunks
from rectify.timers.policy import CHINA_TZ

__all__ = ["FORMATS", "Export", "check_filters", "export", "kinds"]

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@dataclass(frozen=True)
class Export:
    """A ledger on its way out: its file name and media type, and its bytes as they come."""

    filename: str
    media_type: str
    chunks: Iterator[bytes]

    @property
    def disposition(self) -> str:
        """attachment with the Chinese name (RFC 6266/5987) and an ASCII fallback."""
        ascii_name = "ledger." + self.filename.rsplit(".", 1)[-1]
        return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(self.filename)}"


def kinds() -> list[dict[str, Any]]:
    """Every ledger kind: its API name, Chinese name, sources and column headers."""
    return [
        {
            "kind": k.name,
            "name": k.title,
            "source": k.source,
            "columns": [c.header for c in k.columns],
            "formats": list(FORMATS),
            "href": f"/api/v1/ledgers/{k.name}",
        }
        for k in KINDS.values()
    ]


def check_filters(
    *,
    ctx: Context,
    caller: Caller,
    since: date | None,
    until: date | None,
    region: str | None,
    grade: str | None,
    industry: str | None,
    state: str | None,
) -> LedgerFilters:
    """The filters, or a 422 naming each bad one (`to` before `from`, a state no workflow has);
    a region outside the caller's scope does not exist for them (404, as for the API)."""
    errors = []
    if since is not None and until is not None and until < since:
        errors.append({"field": "to", "message": f"must not be before from ({since})"})
    if state is not None:
        known = sorted(
            {
                s
                for d in ctx.registry.all()
                for r in d.regions
                if r.field == "state"
                for s in r.states
            }
        )
        if state not in known:
            errors.append({"field": "state", "message": f"must be one of: {', '.join(known)}"})
    if errors:
        raise InvalidInput.fields(errors)
    if region is not None and not _overlaps(caller, region):
        raise NotFound(f"no region {region} in your scope")
    industry = industry.strip() if industry else None
    return LedgerFilters(since, until, region, grade, industry or None, state)


def _overlaps(caller: Caller, region: str) -> bool:
    """Whether a region and the caller's scope share any code (an enterprise's scope is its
    enterprise: any region may be asked, the rows stay its own)."""
    if caller.role == "enterprise" or caller.region_code is None:
        return True
    mine, asked = region_prefix(caller.region_code), region_prefix(region)
    return asked.startswith(mine) or mine.startswith(asked)


def export(*, ctx: Context, caller: Caller, kind: str, filters: LedgerFilters, fmt: str) -> Export:
    """One ledger in the caller's scope, streamed in the format asked for."""
    ledger = KINDS.get(kind)
    if ledger is None:
        raise NotFound(f"no ledger {kind!r}; the ledgers are: {', '.join(KINDS)}")
    now = ctx.now()
    reader = Reader(ctx.db.engine.connect, caller, filters, now, ctx.registry)
    rows = ledger.rows(reader)
    name = f"{ledger.title}_{now.astimezone(CHINA_TZ):%Y%m%d}.{fmt}"
    if fmt == "csv":
        return Export(name, FORMATS["csv"], csv_chunks(ledger.columns, rows))
    return Export(name, FORMATS["xlsx"], xlsx_chunks(ledger.title, ledger.columns, rows))
