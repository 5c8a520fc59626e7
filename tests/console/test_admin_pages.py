"""The people admin page, and what every console page must be: Chinese, escaped, without inline
script or event handlers (a strict `script-src 'self'` CSP), closed to strangers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.routing import iter_route_contexts
from sqlmodel import select

from rectify.auth.models import Principal
from rectify.console.render import china_date, china_time
from tests.console.helpers import LOGIN, PASSWORD, People, page_csrf, sign_in, signed_in

USERS = "/console/admin/users"


def user(people: People, username: str) -> Principal | None:
    with people.world.ctx.db.session() as session:
        return session.exec(select(Principal).where(Principal.username == username)).first()


def test_the_admin_page_creates_a_person_who_can_then_sign_in(people: People) -> None:
    client = people.client
    signed_in(client, "admin")
    page = client.get(USERS)
    assert page.status_code == 200
    for name in ("王督办", "李执法", "赵企业", "钱审计", "孙管理"):
        assert name in page.text
    form = {
        "csrf_token": page_csrf(client, USERS),
        "username": "Zhou.Wei",
        "display_name": "周伟",
        "role": "inspector",
        "region": "420102",
        "enterprise_id": "",
        "certificate_no": "42010020260001",
        "password": "巡查 2026 安全第一",
    }
    r = client.post(USERS, data=form, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"{USERS}?notice=created")
    listing = client.get(r.headers["location"]).text
    assert "已创建人员" in listing and "zhou.wei" in listing and "42010020260001" in listing
    created = user(people, "zhou.wei")
    assert created and created.kind == "user" and created.role == "inspector"
    assert created.password_hash and created.password_hash.startswith("$argon2id$")
    assert "巡查 2026 安全第一" not in listing

    newcomer = type(client)(client.app)
    assert sign_in(newcomer, "zhou.wei", "巡查 2026 安全第一").status_code == 303
    assert "您好，周伟" in newcomer.get("/console/").text
    assert newcomer.get(USERS, follow_redirects=False).status_code == 403  # not an admin


def test_a_refused_form_comes_back_with_the_reason_beside_the_field(people: People) -> None:
    client = people.client
    signed_in(client, "admin")
    before = user(people, "shortpw")
    form = {
        "csrf_token": page_csrf(client, USERS),
        "username": "shortpw",
        "display_name": "<b>短密码</b>",
        "role": "dispatcher",
        "region": "420102",
        "password": "short",
    }
    r = client.post(USERS, data=form)
    assert r.status_code == 422
    assert "密码至少需要 10 个字符" in r.text
    assert re.search(r'id="password-error"[^>]*>[^<]*10 个字符', r.text)
    assert 'value="shortpw"' in r.text and 'value="420102"' in r.text  # typed values kept
    assert "&lt;b&gt;短密码&lt;/b&gt;" in r.text and "<b>短密码</b>" not in r.text
    assert before is None and user(people, "shortpw") is None
    # A dispatcher without a region, an enterprise user without an enterprise, a taken name.
    for change, field in (
        ({"region": "", "password": PASSWORD}, "region"),
        ({"role": "enterprise", "region": "", "password": PASSWORD}, "enterprise_id"),
        ({"username": "admin", "password": PASSWORD}, "username"),
        ({"password": "shortpw-and-more"}, "password"),  # contains the username
    ):
        r = client.post(USERS, data={**form, **change})
        assert r.status_code == 422, r.text
        assert f'id="{field}-error"' in r.text, field


def test_disable_and_reset_from_the_admin_page(people: People) -> None:
    client = people.client
    signed_in(client, "admin")
    victim = type(client)(client.app)
    signed_in(victim, "dispatcher")
    token = page_csrf(client, USERS)
    r = client.post(f"{USERS}/dispatcher/password", data={"csrf_token": token, "password": "123"})
    assert r.status_code == 422 and "10 个字符" in r.text
    new = "新的密码 2026-12"
    r = client.post(f"{USERS}/dispatcher/password", data={"csrf_token": token, "password": new})
    assert r.status_code == 200 and "已重置密码" in r.text
    assert victim.get("/console/", follow_redirects=False).status_code == 303  # signed out
    assert sign_in(victim, "dispatcher").status_code == 401
    assert sign_in(victim, "dispatcher", new).status_code == 303

    r = client.post(f"{USERS}/dispatcher/disable", data={"csrf_token": token})
    assert r.status_code == 200 and "已停用" in r.text
    assert victim.get("/console/", follow_redirects=False).status_code == 303
    # An admin cannot lock themself out; an unknown person is a 404 beside the list.
    r = client.post(f"{USERS}/admin/disable", data={"csrf_token": token})
    assert r.status_code == 409 and "不能撤销或停用自己的账户" in r.text
    r = client.post(f"{USERS}/nobody/disable", data={"csrf_token": token})
    assert r.status_code == 404 and "没有用户名为 nobody 的人员" in r.text
    assert client.get("/console/", follow_redirects=False).status_code == 200


def test_only_admins_open_the_admin_page(people: People) -> None:
    for username in ("dispatcher", "inspector", "enterprise", "auditor"):
        client = type(people.client)(people.client.app)
        signed_in(client, username)
        r = client.get(USERS, follow_redirects=False)
        assert r.status_code == 403 and "无权" in r.text, username
        token = page_csrf(client)
        data = {"csrf_token": token, "username": "x" + username, "password": PASSWORD}
        assert client.post(USERS, data=data).status_code == 403
    assert user(people, "xdispatcher") is None


def test_every_console_page_is_closed_to_strangers(people: People) -> None:
    """Each console route without a session: GET is sent to sign in, anything else is a 401
    page; a bearer token does not open the console."""
    client = people.client
    public = {"/", "/console", LOGIN}
    routes = [
        (method, route.path)
        for route in iter_route_contexts(client.app.routes)
        for method in (route.methods or set()) - {"HEAD"}
        if route.path.startswith("/console/") and route.path not in public
    ]
    assert len(routes) >= 6
    for method, path in routes:
        url = path.format(username="admin", document_id=1)
        for headers in ({}, people.world.h("admin")):
            r = client.request(method, url, headers=headers, follow_redirects=False)
            if method == "GET":
                assert r.status_code == 303 and r.headers["location"].startswith(LOGIN), url
            else:
                assert r.status_code == 401, f"{method} {url}: {r.status_code}"
                assert r.headers["content-type"].startswith("text/html")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTR = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def test_pages_have_no_inline_script_handlers_or_styles_and_link_the_stylesheet(
    people: People,
) -> None:
    client = people.client
    pages = {"login": client.get(LOGIN).text, "wrong": sign_in(client, "admin", "x" * 12).text}
    signed_in(client, "admin")
    pages |= {
        "home": client.get("/console/").text,
        "admin": client.get(USERS).text,
        "404": client.get("/console/no-such-page").text,
        "403": client.post(USERS, data={}).text,
    }
    for name, html in pages.items():
        assert not INLINE_SCRIPT.search(html), name
        assert not HANDLER.search(html), name
        assert not STYLE_ATTR.search(html), name
        assert '<html lang="zh-CN">' in html, name
        assert 'href="/console/static/app.css"' in html, name
        assert 'name="viewport"' in html, name
    css = client.get("/console/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@media (max-width" in css.text
    assert client.get("/console/no-such-page").status_code == 404


def test_china_time_filters() -> None:
    moment = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
    assert china_time(moment) == "2026年12月1日 14:30"
    assert china_date(moment) == "2026年12月1日"
    assert china_time(datetime(2026, 12, 31, 16, 5, tzinfo=UTC)) == "2027年1月1日 00:05"
    assert china_time(None) == "—"
