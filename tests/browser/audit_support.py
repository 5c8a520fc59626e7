"""What the audit and enterprise browser tests share: a district of their own on the session's
`rectify serve` (enterprises, people who sign in, bearer tokens for the API), hazards driven over
HTTP, raw SQL on the server's database file, and signing in through the real form.

Everything made here is unique to the test session (a district code and names of its own), so
other browser tests on the same server neither see it nor get in its way.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from rectify.auth import people as accounts
from rectify.auth import service as auth
from rectify.config import Settings
from rectify.context import build_context
from rectify.enterprises.codes import credit_code_check_char
from rectify.enterprises.models import Enterprise
from tests.browser.conftest import WAIT, open_page
from tests.processes import Server

PASSWORD = "审计 2026 链条完好"
DISTRICT = "330106"  # 杭州市西湖区: no other browser test lives here


def credit_code(serial: int) -> str:
    first17 = f"91{DISTRICT}MA7Q{serial:05d}"
    return first17 + credit_code_check_char(first17)


@dataclass
class District:
    """Two enterprises (A, B), people of each role that signs in, a token per API role."""

    server: Server
    suffix: str
    firms: dict[str, int] = field(default_factory=dict)
    usernames: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.server.env["RECTIFY_DATABASE_URL"].removeprefix("sqlite:///"))

    def api(self, method: str, path: str, who: str = "dispatcher", **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        r = httpx.request(method, f"{self.server.url}/api/v1{path}", headers=headers, **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def report(self, firm: str = "A", grade: str = "general", title: str = "配电柜未接地") -> int:
        body = {"enterprise_id": self.firms[firm], "title": title, "description": "巡查发现"}
        body |= {"grade": grade, "industry": "制造", "source": "inspection", "location": "二车间"}
        return self.api("POST", "/hazards", json=body)["id"]

    def fire(self, hazard_id: int, trigger: str, **payload: Any) -> dict[str, Any]:
        body = {"trigger": trigger, "payload": payload}
        return self.api("POST", f"/hazards/{hazard_id}/transitions", json=body)

    def penalise(self, hazard_id: int, n: int) -> None:
        self.fire(
            hazard_id,
            "record_penalty",
            decision_no=f"西湖应急罚〔2026〕{n}号",
            kind="fine",
            amount_yuan=30000,
            legal_basis="安全生产法第一百零二条",
        )

    def history(self, hazard_id: int) -> list[dict[str, Any]]:
        return self.api("GET", f"/hazards/{hazard_id}/history", who="auditor")

    def sql(self, statement: str, *params: Any) -> Any:
        """Raw SQL on the server's database file, behind the service's back."""
        with sqlite3.connect(self.path, timeout=30) as db:
            return db.execute(statement, params).fetchall()


@pytest.fixture(scope="session")
def district(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    """The session's district on the running server, made straight in its database."""
    suffix = uuid.uuid4().hex[:6]
    settings = Settings(
        database_url=server.env["RECTIFY_DATABASE_URL"],
        data_dir=tmp_path_factory.mktemp("district"),
        scheduler=False,
        demo=False,
        argon2_memory_kib=1024,  # cheap to make; the server signs in with what the hash says
        argon2_time_cost=1,
    )
    ctx = build_context(settings)
    made = District(server=server, suffix=suffix)
    try:
        with ctx.db.write() as session:
            for key, serial in (("A", 1), ("B", 2)):
                firm = Enterprise(
                    name=f"西湖{key}化工有限公司{suffix}",
                    credit_code=credit_code(int(suffix, 16) % 90000 + serial),
                    industry="危险化学品",
                    region_code=DISTRICT,
                )
                session.add(firm)
                session.flush()
                made.firms[key] = firm.id  # type: ignore[assignment]
        people = {
            "auditor": ("auditor", "周审计", {"region_code": DISTRICT}),
            "dispatcher": ("dispatcher", "吴督办", {"region_code": DISTRICT}),
            "firm_a": ("enterprise", "郑安全员", {"enterprise_id": made.firms["A"]}),
            "firm_b": ("enterprise", "冯安全员", {"enterprise_id": made.firms["B"]}),
        }
        with ctx.db.write() as session:
            for key, (role, name, scope) in people.items():
                username = f"{key}.{suffix}"
                accounts.create_user(
                    session=session,
                    settings=settings,
                    role=role,
                    username=username,
                    display_name=name,
                    password=PASSWORD,
                    now=ctx.now(),
                    **scope,  # type: ignore[arg-type]
                )
                made.usernames[key] = username
            for key in ("dispatcher", "auditor"):
                _, token = auth.create_token(
                    session=session, role=key, name=f"{key}-{suffix}", region_code=DISTRICT
                )
                made.tokens[key] = token
    finally:
        ctx.db.dispose()
    yield made


def sign_in(driver: WebDriver, district: District, who: str) -> None:
    """Sign in through the real form (any earlier session's cookie dropped first)."""
    base = district.server.url
    open_page(driver, f"{base}/console/login")
    driver.delete_all_cookies()
    open_page(driver, f"{base}/console/login")
    driver.find_element(By.NAME, "username").send_keys(district.usernames[who])
    password = driver.find_element(By.NAME, "password")
    password.send_keys(PASSWORD)
    password.submit()
    WebDriverWait(driver, WAIT).until(lambda d: "/console/login" not in d.current_url)


def next_second() -> None:
    """Wait until the wall clock has passed the next whole second (a real server's events, a
    form that takes seconds: two events must fall in different seconds)."""
    now = time.time()
    time.sleep(int(now) + 1.05 - now)


def fits(driver: WebDriver) -> bool:
    """Nothing wider than the window (no sideways scrolling on a phone)."""
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
