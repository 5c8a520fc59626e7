"""Repeat hazards (重复隐患): a new hazard like one the same enterprise closed not long ago.

A hazard reported at an enterprise is linked (`recurrence_of`) to the most recently closed
hazard of that enterprise, closed within `recurrence_window_days`, that has the same
normalised location or a title at least `recurrence_title_similarity` alike (difflib's
ratio over the normalised titles). Both settings are ours, not the law's: the law asks offices
to watch hazards that come back (安全生产法 art. 41) but sets no window or measure.
"""

from __future__ import annotations

import difflib
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select

from rectify.database.uow import UnitOfWork
from rectify.hazards.models import Grade
from rectify.hazards.row import HAZARDS

__all__ = ["CANDIDATES", "find_original", "normalise", "similar"]

CANDIDATES = 200
"""How many of the enterprise's latest closed hazards are compared (the newest first)."""

_RECENT = (
    select(HAZARDS.c.id, HAZARDS.c.title, HAZARDS.c.location)
    .where(
        HAZARDS.c.enterprise_id == bindparam("eid"),
        # Every grade named, so that the (enterprise, grade, state) index answers: without it
        # the enterprise's every hazard is read (an import's rows grow it as they go).
        HAZARDS.c.grade.in_([g.value for g in Grade]),
        HAZARDS.c.state == "closed",
        HAZARDS.c.closed_at >= bindparam("since"),
    )
    .order_by(HAZARDS.c.closed_at.desc(), HAZARDS.c.id.desc())
    .limit(CANDIDATES)
)


def normalise(text: str) -> str:
    """Text compared as meaning, not typing: NFKC (full-width → half-width), case folded,
    without spaces or punctuation ("一层 东侧。" and "一层东侧" are one place)."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def similar(a: str, b: str, threshold: float) -> bool:
    """Two titles at least `threshold` alike (difflib ratio of the normalised texts)."""
    na, nb = normalise(a), normalise(b)
    if not na or not nb:
        return False
    return na == nb or difflib.SequenceMatcher(None, na, nb).ratio() >= threshold


def find_original(
    *,
    uow: UnitOfWork,
    enterprise_id: int,
    title: str,
    location: str,
    now: datetime,
    window_days: int,
    threshold: float,
) -> int | None:
    """The hazard a new one repeats (the most recently closed match), or None."""
    since = now - timedelta(days=window_days)
    place = normalise(location)
    for found in uow.execute(_RECENT, {"eid": enterprise_id, "since": since}):
        if (place and normalise(found.location) == place) or similar(title, found.title, threshold):
            return int(found.id)
    return None
