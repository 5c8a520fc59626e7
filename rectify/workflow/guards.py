"""Named domain guards that workflow files refer to; each returns a refusal or None.

Guards see the facts the service gathered (deadline, extension, plan, penalties) and the
payload; with `payload=None` (listing the allowed triggers) payload-dependent guards pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Facts:
    """What a guard may know about a hazard beyond its state; gathered by the service."""

    now: datetime
    deadline: datetime | None = None
    pending_extension: bool = False
    penalty_count: int = 0
    violation: bool = False
    plan_missing: tuple[str, ...] = ()
    # The self-check path (16号令 art. 15): a general hazard the enterprise reported itself,
    # where the policy allows it; and whether the enterprise is handling it on that path.
    self_check: bool = False
    self_managed: bool = False


Guard = Callable[[dict[str, str], Facts, dict[str, Any] | None], str | None]


def before_deadline(state: dict[str, str], facts: Facts, payload: dict | None) -> str | None:
    if facts.deadline is not None and facts.now >= facts.deadline:
        return f"the rectification deadline {facts.deadline.isoformat()} has passed"
    return None


def no_pending_extension(state: dict[str, str], facts: Facts, payload: dict | None) -> str | None:
    if facts.pending_extension:
        return "an extension request is already pending a decision"
    return None


def extension_pending(state: dict[str, str], facts: Facts, payload: dict | None) -> str | None:
    return None if facts.pending_extension else "there is no pending extension request"


def plan_complete(state: dict[str, str], facts: Facts, payload: dict | None) -> str | None:
    if facts.plan_missing:
        missing = ", ".join(facts.plan_missing)
        return (
            f"the hazard is major and its plan lacks {missing}: "
            "complete the six elements with revise_plan first"
        )
    return None


NOT_FILED = frozenset({"not_filed", "not_filed_upheld", "not_filed_final"})


def penalty_or_waiver(state: dict[str, str], facts: Facts, payload: dict | None) -> str | None:
    # 不得以整改代替处罚: a violation, or a case the police declined, needs a penalty on file.
    needs_penalty = facts.violation or state.get("judicial") in NOT_FILED
    if not needs_penalty or facts.penalty_count > 0 or payload is None:
        return None
    if payload.get("penalty_waiver_reason"):
        return None
    why = "was reported as a violation" if facts.violation else "was not filed by the police"
    return (
        f"the hazard {why}: rectification never replaces a penalty (不得以整改代替处罚); "
        "record a penalty or give penalty_waiver_reason"
    )


def self_check_allowed(state: dict[str, str], facts: Facts, payload: dict | None) -> str | None:
    if facts.self_check:
        return None
    return (
        "only a general hazard the enterprise found in its own check (source self_check) takes "
        "the self-check path, and only where the policy allows it; the office assigns the rest"
    )


def self_managed(state: dict[str, str], facts: Facts, payload: dict | None) -> str | None:
    if facts.self_managed:
        return None
    return "the hazard is not on the self-check path: the office handles it"


GUARDS: dict[str, Guard] = {
    "before_deadline": before_deadline,
    "no_pending_extension": no_pending_extension,
    "extension_pending": extension_pending,
    "plan_complete": plan_complete,
    "penalty_or_waiver": penalty_or_waiver,
    "self_check_allowed": self_check_allowed,
    "self_managed": self_managed,
}
