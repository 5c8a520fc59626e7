"""Test support: a settable clock, a world of enterprises and principals, API helpers."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from rectify.auth import service as auth
from rectify.context import Context
from rectify.demo import tiny_png
from rectify.enterprises.codes import credit_code_check_char
from rectify.enterprises.models import Enterprise

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing


PUBLIC_ADDRESS = "93.184.215.14"  # a global address no test connects to


class FakeDNS:
    """An injectable resolver (Context.resolve): no test depends on real DNS. Names in `names`
    resolve as set there; example.org/.com/.net and names under .example resolve to one public
    address; localhost to loopback; anything else does not resolve."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {"localhost": ["127.0.0.1", "::1"]}
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        name = host.lower().rstrip(".")
        self.asked.append(name)
        if name in self.names:
            return list(self.names[name])
        domains = ("example", "example.org", "example.com", "example.net")
        if any(name == d and "." in d or name.endswith("." + d) for d in domains):
            return [PUBLIC_ADDRESS]
        raise OSError(f"{name} does not resolve (tests.support.FakeDNS)")


class Clock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def credit_code(region: str, serial: int) -> str:
    first17 = f"91{region}MA4K{serial:05d}"
    return first17 + credit_code_check_char(first17)


def png(seed: int = 0) -> bytes:
    """A valid 1x1 PNG whose pixel (and so hash) depends on the seed."""
    return tiny_png(seed)


HOME = "420102"  # the district most tests live in
CITY = "420100"
PROVINCE = "420000"
ELSEWHERE = "420202"  # another city of the same province


@dataclass
class World:
    """Two enterprises (home district, elsewhere) and a token for every role and scope."""

    client: TestClient
    ctx: Context
    clock: Clock
    home_firm: int = 0
    other_firm: int = 0
    tokens: dict[str, str] = field(default_factory=dict)

    def h(self, who: str, **extra: str) -> dict[str, str]:
        """Headers for a principal: dispatcher, inspector, enterprise, auditor, admin,
        dispatcher_city, dispatcher_province, dispatcher_elsewhere, enterprise_other, ..."""
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    # -- calls ---------------------------------------------------------------------------
    def report(self, who: str = "inspector", **fields: Any) -> dict[str, Any]:
        body = {
            "enterprise_id": self.home_firm,
            "title": "消防通道堵塞",
            "description": "",
            "grade": "general",
            "industry": "商贸",
            "source": "inspection",
            "location": "一层",
            "violation": False,
            **fields,
        }
        r = self.client.post("/api/v1/hazards", json=body, headers=self.h(who))
        assert r.status_code == 201, r.text
        return r.json()

    def fire(
        self,
        hazard_id: int,
        who: str,
        trigger: str,
        expect: int = 200,
        headers: dict[str, str] | None = None,
        **payload: Any,
    ) -> dict[str, Any]:
        r = self.client.post(
            f"/api/v1/hazards/{hazard_id}/transitions",
            json={"trigger": trigger, "payload": payload},
            headers={**self.h(who), **(headers or {})},
        )
        assert r.status_code == expect, f"{trigger}: {r.status_code} {r.text}"
        return r.json()

    def upload(
        self, hazard_id: int, who: str = "enterprise", seed: int = 0, data: bytes | None = None
    ) -> str:
        files = {"file": ("photo.png", io.BytesIO(data or png(seed)), "image/png")}
        r = self.client.post(
            f"/api/v1/hazards/{hazard_id}/evidence", files=files, headers=self.h(who)
        )
        assert r.status_code == 201, r.text
        return r.json()["sha256"]

    def get(self, hazard_id: int, who: str = "dispatcher") -> dict[str, Any]:
        r = self.client.get(f"/api/v1/hazards/{hazard_id}", headers=self.h(who))
        assert r.status_code == 200, r.text
        return r.json()

    def history(self, hazard_id: int, who: str = "auditor") -> list[dict[str, Any]]:
        r = self.client.get(f"/api/v1/hazards/{hazard_id}/history", headers=self.h(who))
        assert r.status_code == 200, r.text
        return r.json()

    # -- journeys to a state -------------------------------------------------------------
    def plan(self, grade: str = "general") -> dict[str, Any]:
        deadline = (self.clock.now + timedelta(days=5)).isoformat()
        plan = {"measures": "清理通道", "responsible_person": "李强", "deadline": deadline}
        if grade == "major":
            plan |= {"goals": "消除隐患", "funds_yuan": 5000, "contingency_plan": "停止作业"}
        return plan

    def to(self, state: str, grade: str = "general", **report: Any) -> int:
        """A new hazard driven along the main track to `state`."""
        hid = self.report(grade=grade, **report)["id"]
        steps = ["assigned", "rectifying", "awaiting_verification", "verified", "closed"]
        if state == "reported":
            return hid
        self.fire(hid, "dispatcher", "assign", assignee="王工")
        for step in steps[1 : steps.index(state) + 1]:
            self._step(hid, step, grade)
        return hid

    def _step(self, hid: int, state: str, grade: str) -> None:
        if state == "rectifying":
            self.fire(hid, "enterprise", "accept", plan=self.plan(grade))
        elif state == "awaiting_verification":
            sha = self.upload(hid)
            extra = {}
            if self.get(hid)["production"] == "suspended":
                extra["evaluation_report"] = self.upload(hid, seed=99)
            self.fire(
                hid, "enterprise", "confirm_rectified", summary="已整改", evidence=[sha], **extra
            )
        elif state == "verified":
            self.fire(hid, "inspector", "verify_pass", note="复查合格")
        elif state == "closed":
            self.fire(hid, "dispatcher", "close", note="销号")


PRINCIPALS = {
    # name: (role, region, which enterprise)
    "dispatcher": ("dispatcher", HOME, None),
    "dispatcher_city": ("dispatcher", CITY, None),
    "dispatcher_province": ("dispatcher", PROVINCE, None),
    "dispatcher_elsewhere": ("dispatcher", ELSEWHERE, None),
    "inspector": ("inspector", HOME, None),
    "inspector_elsewhere": ("inspector", ELSEWHERE, None),
    "enterprise": ("enterprise", None, "home"),
    "enterprise_other": ("enterprise", None, "other"),
    "auditor": ("auditor", CITY, None),
    "auditor_elsewhere": ("auditor", ELSEWHERE, None),
    "admin": ("admin", None, None),
}


def build_world(client: TestClient, ctx: Context, clock: Clock) -> World:
    world = World(client=client, ctx=ctx, clock=clock)
    with ctx.db.write() as session:
        firms = {}
        for key, region, serial in (("home", HOME, 1), ("other", ELSEWHERE, 2)):
            firm = Enterprise(
                name=f"测试企业{serial}",
                credit_code=credit_code(region, serial),
                industry="危险化学品",
                region_code=region,
            )
            session.add(firm)
            session.flush()
            firms[key] = firm.id
        for name, (role, region, firm) in PRINCIPALS.items():
            _, token = auth.create_token(
                session=session,
                role=role,
                name=name,
                region_code=region,
                enterprise_id=firms[firm] if firm else None,
            )
            world.tokens[name] = token
    world.home_firm, world.other_firm = firms["home"], firms["other"]
    return world
