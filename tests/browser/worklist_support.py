"""What the sign-in and worklist browser tests share: a district of their own on the session's
`rectify serve` (three enterprises, one person per role) and a hazard already overdue, written
by the service under a clock set back twenty days, straight into the server's database."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rectify.auth import people as accounts
from rectify.auth.scope import Caller
from rectify.config import Settings
from rectify.context import build_context
from rectify.database.core import utcnow
from rectify.enterprises.codes import credit_code_check_char
from rectify.enterprises.models import Enterprise
from rectify.hazards import service as hazards
from rectify.hazards.models import HazardCreate
from tests.processes import Server

PASSWORD = "工作台 2026 按期整改"
DISTRICT = "330108"  # 杭州市滨江区: no other browser test lives here
ROLES = {
    "dispatcher": ("dispatcher", "陈督办", {"region_code": DISTRICT}),
    "inspector": ("inspector", "林执法", {"region_code": DISTRICT}),
    "enterprise": ("enterprise", "黄安全员", {"enterprise_id": 0}),
    "auditor": ("auditor", "何审计", {"region_code": DISTRICT}),
    "admin": ("admin", "罗管理", {}),
}


@dataclass
class Desk:
    server: Server
    suffix: str
    firm: int = 0
    overdue: int = 0
    usernames: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.server.env["RECTIFY_DATABASE_URL"].removeprefix("sqlite:///"))

    def sql(self, statement: str, *params: Any) -> Any:
        with sqlite3.connect(self.path, timeout=30) as db:
            return db.execute(statement, params).fetchall()


@pytest.fixture(scope="session")
def desk(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    suffix = uuid.uuid4().hex[:6]
    settings = Settings(
        database_url=server.env["RECTIFY_DATABASE_URL"],
        data_dir=tmp_path_factory.mktemp("desk"),
        scheduler=False,
        demo=False,
        documents_require_officers=False,
        argon2_memory_kib=1024,
        argon2_time_cost=1,
    )
    back = utcnow() - timedelta(days=20)
    ctx = build_context(settings, clock=lambda: back)
    made = Desk(server=server, suffix=suffix)
    try:
        with ctx.db.write() as session:
            first17 = f"91{DISTRICT}MA8R{int(suffix, 16) % 90000:05d}"
            firm = Enterprise(
                name=f"滨江化纤有限公司{suffix}",
                credit_code=first17 + credit_code_check_char(first17),
                industry="纺织",
                region_code=DISTRICT,
            )
            session.add(firm)
            session.flush()
            made.firm = firm.id  # type: ignore[assignment]
        with ctx.db.write() as session:
            for role, (kind, name, scope) in ROLES.items():
                if "enterprise_id" in scope:
                    scope = {"enterprise_id": made.firm}
                username = f"{role}.{suffix}"
                accounts.create_user(
                    session=session,
                    settings=settings,
                    role=kind,
                    username=username,
                    display_name=name,
                    password=PASSWORD,
                    now=back,
                    **scope,  # type: ignore[arg-type]
                )
                made.usernames[role] = username
        dispatcher = Caller(role="dispatcher", name="陈督办", region_code=DISTRICT)
        data = HazardCreate(
            enterprise_id=made.firm,
            title="纺丝车间静电接地失效",
            grade="general",
            industry="纺织",
            source="inspection",
            location="纺丝车间",
        )
        made.overdue = hazards.report(ctx=ctx, caller=dispatcher, data=data)["id"]
        hazards.transition(
            ctx=ctx,
            caller=dispatcher,
            hazard_id=made.overdue,
            trigger="assign",
            payload={"assignee": "车间主任"},
        )
    finally:
        ctx.db.dispose()
    yield made
