"""The hazard page (issue 10): the track and branches, deadlines, evidence, documents, history
and diagram in Chinese; every trigger the caller may fire now offered as a form named after its
payload fields; a refusal (422, 409, stale page, no CSRF token) back on the page with nothing
applied; 404 outside the caller's scope; user text escaped."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from rectify.timers.policy import CHINA_TZ
from tests.console.helpers import People, csrf_of, signed_in
from tests.support import World, png


def text_of(html: str) -> str:
    """The page's text without tags (what a person reads), whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def local(moment) -> str:  # noqa: ANN001
    """What a datetime-local field sends: China time, no offset."""
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")


def forms(html: str) -> dict[str, str]:
    """Each trigger form on the page: trigger name → the form's HTML."""
    found = re.findall(r'<form method="post" action="/console/hazards/\d+/triggers/(\w+)"(.*?)</form>', html, re.S)
    return {name: body for name, body in found}


def names(form_html: str) -> set[str]:
    return set(re.findall(r'name="([^"]+)"', form_html)) - {"csrf_token", "version"}


def submit(
    client: TestClient, hid: int, trigger: str, data: dict, *, version: int | None = None
):  # noqa: ANN201
    page = client.get(f"/console/hazards/{hid}")
    assert page.status_code == 200, page.text
    token = csrf_of(page.text)
    if version is None:
        version = int(re.search(r'name="version" value="(\d+)"', page.text)[1])
    body = {"csrf_token": token, "version": str(version), **data}
    return client.post(
        f"/console/hazards/{hid}/triggers/{trigger}", data=body, follow_redirects=False
    )


def test_the_page_shows_the_hazard_and_offers_the_dispatchers_triggers(people: People) -> None:
    world, client = people.world, people.client
    hid = world.report(title="配电柜<script>alert(1)</script>未接地")["id"]
    signed_in(client, "dispatcher")
    r = client.get(f"/console/hazards/{hid}")
    assert r.status_code == 200, r.text
    page = text_of(r.text)
    assert "整改主线" in page and "挂牌督办" in page and "生产状态" in page and "移交司法" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "<script>alert(1)" not in r.text
    offered = forms(r.text)
    assert set(offered) >= {"assign", "dismiss", "regrade", "record_penalty"}
    assert {"assignee", "deadline", "officers"} <= names(offered["assign"])
    assert ">交办</button>" in offered["assign"]
    assert "stateDiagram-v2" in r.text and "class main_reported,supervision_none" in r.text
    with open("/tmp/hz/page.html", "w") as f:
        f.write(r.text)
