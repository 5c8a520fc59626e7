"""Who is calling and what they can see: roles, region scopes (行政区划) and enterprise scope.

A 6-digit region code widens with trailing zero pairs: 420000 sees every code starting 42,
420100 every code starting 4201, 420102 only itself. Outside the scope a hazard is 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_
from sqlmodel import col

LEVELS = ("township", "county", "city", "province")
_LEVEL_OF_PREFIX = {9: "township", 6: "county", 4: "city", 2: "province"}


def region_prefix(code: str) -> str:
    """The prefix a region code covers: 420000 → 42, 420100 → 4201, 420102 → 420102, a
    township's 420102001 → itself."""
    if len(code) == 9:
        return code
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def region_level(code: str) -> str:
    """province, city, county or township, from the length and the trailing zero pairs."""
    return _LEVEL_OF_PREFIX[len(region_prefix(code))]


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of one request (or the timer engine)."""

    role: str
    name: str
    principal_id: int | None = None
    region_code: str | None = None
    enterprise_id: int | None = None
    display_name: str | None = None  # how pages and the history name the person or machine

    @property
    def actor(self) -> str:
        """`role:name`, as the history has always named actors (not unique: see actor_id)."""
        return f"{self.role}:{self.name}"

    @property
    def actor_id(self) -> int | None:
        """The principal's id: what tells two same-named actors apart (None: the system)."""
        return self.principal_id

    @property
    def label(self) -> str:
        """The name a page shows: the display name, else the name."""
        return self.display_name or self.name

    @property
    def level(self) -> str | None:
        """The caller's administrative level (None: above every level)."""
        return region_level(self.region_code) if self.region_code else None

    def sees(self, *, region_code: str, enterprise_id: int) -> bool:
        """True when an object in this region and enterprise is inside the caller's scope."""
        if self.role == "enterprise":
            return enterprise_id == self.enterprise_id
        if self.region_code is None:
            return True
        return region_code.startswith(region_prefix(self.region_code))

    def scope_filter(self, model: Any) -> Any | None:
        """A WHERE clause limiting `model` (a table model or a Table, with region_code and an
        enterprise id) to scope."""
        columns = model.c if isinstance(model, Table) else model
        name = model.name if isinstance(model, Table) else model.__tablename__
        if self.role == "enterprise":
            column = columns.id if name == "enterprises" else columns.enterprise_id
            return col(column) == self.enterprise_id
        if self.region_code is None:
            return None
        return in_region(col(columns.region_code), self.region_code)


def in_region(column: Any, code: str) -> Any:
    """`column` lies in the region `code` covers, as a range an index can answer (a LIKE
    prefix cannot use SQLite's default index: a count over 1M hazards read every row)."""
    prefix = region_prefix(code)
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # region codes are digits: "4201" → "4202"
    return and_(column >= prefix, column < after)


SYSTEM = Caller(role="system", name="scheduler")
"""The timer engine; it appears in histories as `system:scheduler`."""
