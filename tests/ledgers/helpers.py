"""Journeys for the ledger tests: a hazard at either enterprise driven by that enterprise's own
principals (the home district's or the other city's)."""

from __future__ import annotations

from typing import Any

from tests.support import World

WHO = {
    "home": {"inspector": "inspector", "dispatcher": "dispatcher", "enterprise": "enterprise"},
    "other": {
        "inspector": "inspector_elsewhere",
        "dispatcher": "dispatcher_elsewhere",
        "enterprise": "enterprise_other",
    },
}


def journey(world: World, where: str, state: str, **report: Any) -> int:
    """A hazard at the `where` enterprise driven to `state` (assigned, rectifying,
    awaiting_verification, verified or closed)."""
    who = WHO[where]
    firm = world.home_firm if where == "home" else world.other_firm
    hid = world.report(who["inspector"], enterprise_id=firm, **report)["id"]
    steps = ["reported", "assigned", "rectifying", "awaiting_verification", "verified", "closed"]
    grade = report.get("grade", "general")
    for step in steps[1 : steps.index(state) + 1]:
        if step == "assigned":
            world.fire(hid, who["dispatcher"], "assign", assignee="王工")
        elif step == "rectifying":
            world.fire(hid, who["enterprise"], "accept", plan=world.plan(grade))
        elif step == "awaiting_verification":
            sha = world.upload(hid, who=who["enterprise"], seed=hid)
            world.fire(
                hid, who["enterprise"], "confirm_rectified", summary="已整改", evidence=[sha]
            )
        elif step == "verified":
            world.fire(hid, who["inspector"], "verify_pass", note="复查合格")
        elif step == "closed":
            world.fire(hid, who["dispatcher"], "close", note="销号")
    return hid
