"""Webhooks end to end against a real local HTTP receiver: subscribing, the outbox written with
the event, signed delivery, retries with backoff under one idempotency id, leases, the log.

The receiver listens on 127.0.0.1, which webhooks may reach only through the allow-list
(`webhook_allow_networks`): the fixtures set it, as an intranet office would."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network
from typing import Any

import httpx
import pytest
from sqlmodel import select

from rectify.auth.scope import Caller
from rectify.exceptions import InvalidInput
from rectify.hazards import row as rows
from rectify.hazards import service as hazards
from rectify.notifications import service, worker
from rectify.notifications.models import Delivery
from tests.support import FakeDNS, World

SECRET = "a-test-secret-of-some-length"
ADMIN = Caller(role="admin", name="test")
HTTP: httpx.Client


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP endpoint on 127.0.0.1 that records every POST; fails the first `fail`
    (500 with `answer` as its body)."""

    url: str = ""
    port: int = 0
    fail: int = 0
    answer: bytes = b""
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        return [s.headers["x-rectify-delivery"] for s in self.seen]


def allow(world: World, *networks: str) -> None:
    """Configure webhook_allow_networks, as an office with intranet receivers does."""
    world.ctx.settings.webhook_allow_networks = [ip_network(n) for n in networks]


def dns(world: World) -> FakeDNS:
    """The test resolver the context uses (tests.conftest)."""
    assert isinstance(world.ctx.resolve, FakeDNS)
    return world.ctx.resolve


@pytest.fixture
def receiver(world: World) -> Iterator[Receiver]:
    allow(world, "127.0.0.0/8")
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with rec.lock:
                headers = {k.lower(): v for k, v in self.headers.items()}
                rec.seen.append(Seen(self.path, headers, body))
                failing = rec.fail > 0
                rec.fail -= 1 if failing else 0
            body = rec.answer if failing else b""
            self.send_response(500 if failing else 204)
            self.send_header("Content-Length", str(len(body)))
            if failing:
                self.send_header("X-Debug", rec.answer.decode())
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.port = server.server_address[1]
    rec.url = f"http://127.0.0.1:{rec.port}/hook"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def subscribe(world: World, who: str, url: str, types: list[str], **extra: Any) -> dict[str, Any]:
    r = world.client.post(
        "/api/v1/webhooks", json={"url": url, "event_types": types, **extra}, headers=world.h(who)
    )
    assert r.status_code == 201, r.text
    return r.json()


def log(world: World, who: str = "admin", **query: Any) -> list[dict[str, Any]]:
    r = world.client.get("/api/v1/webhooks/deliveries", params=query, headers=world.h(who))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def deliveries(world: World) -> list[Delivery]:
    with world.ctx.db.session() as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)))


@pytest.fixture(scope="module", autouse=True)
def http() -> Iterator[httpx.Client]:
    """One client for the module (building one per pass costs an SSL context each time)."""
    global HTTP
    with httpx.Client(timeout=5) as HTTP:
        yield HTTP


def deliver(world: World) -> int:
    return service.deliver_due(ctx=world.ctx, worker="test", client=HTTP)


def assigned(world: World) -> int:
    hid = world.report()["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工")
    return hid


# -- subscribing ---------------------------------------------------------------------------
def test_subscribe_shows_the_secret_once(world: World, receiver: Receiver) -> None:
    body = subscribe(world, "dispatcher", receiver.url, ["assign", "deadline_missed"])
    assert len(body["secret"]) >= 32 and body["region_code"] == "420102"
    assert body["created_by"] == "dispatcher:dispatcher" and body["active"] is True
    given = subscribe(world, "dispatcher", receiver.url, ["*"], secret=SECRET)
    assert given["secret"] == SECRET
    listed = world.client.get("/api/v1/webhooks", headers=world.h("dispatcher")).json()
    assert [w["id"] for w in listed] == [body["id"], given["id"]]
    assert all("secret" not in w for w in listed)
    one = world.client.get(f"/api/v1/webhooks/{body['id']}", headers=world.h("dispatcher"))
    assert one.status_code == 200 and "secret" not in one.json()


def test_only_dispatchers_and_admins_and_only_their_own(world: World, receiver: Receiver) -> None:
    for who in ("enterprise", "auditor", "inspector"):
        r = world.client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "event_types": ["*"]},
            headers=world.h(who),
        )
        assert r.status_code == 403, who
        assert r.headers["content-type"] == "application/problem+json"
        assert world.client.get("/api/v1/webhooks", headers=world.h(who)).status_code == 403
        r = world.client.get("/api/v1/webhooks/deliveries", headers=world.h(who))
        assert r.status_code == 403
    hook = subscribe(world, "dispatcher", receiver.url, ["*"])
    path = f"/api/v1/webhooks/{hook['id']}"
    for who in ("dispatcher_elsewhere", "dispatcher_city"):
        assert world.client.get("/api/v1/webhooks", headers=world.h(who)).json() == []
        assert world.client.get(path, headers=world.h(who)).status_code == 404
        assert world.client.delete(path, headers=world.h(who)).status_code == 404
        r = world.client.get(
            "/api/v1/webhooks/deliveries", params={"webhook_id": hook["id"]}, headers=world.h(who)
        )
        assert r.status_code == 404
    assert [w["id"] for w in world.client.get("/api/v1/webhooks", headers=world.h("admin")).json()]
    assert world.client.get(path, headers=world.h("admin")).status_code == 200


def test_bad_subscriptions_are_422_naming_the_field(world: World, receiver: Receiver) -> None:
    def post(body: dict[str, Any]) -> dict[str, Any]:
        r = world.client.post("/api/v1/webhooks", json=body, headers=world.h("dispatcher"))
        assert r.status_code == 422, r.text
        return r.json()

    bad = post({"url": receiver.url, "event_types": ["assign", "asign", "*", "bogus"]})
    assert [e["field"] for e in bad["errors"]] == ["event_types.1", "event_types.3"]
    assert "asign" in bad["errors"][0]["message"]
    assert post({"url": receiver.url, "event_types": []})["errors"][0]["field"] == "event_types"
    for url in ("ftp://example.com/x", "not a url", "http://", "javascript:alert(1)"):
        assert post({"url": url, "event_types": ["*"]})["errors"][0]["field"] == "url"
    assert post({"event_types": ["*"]})["errors"][0]["field"] == "url"
    assert post({"url": receiver.url, "event_types": ["*"], "secret": "short"})["errors"]
    assert world.client.get("/api/v1/webhooks", headers=world.h("dispatcher")).json() == []


def test_the_service_itself_refuses_urls_that_are_not_http(world: World) -> None:
    # Not only the HTTP view: any caller of the service (a CLI, an import) is held to http(s),
    # so the delivery worker is never pointed at file:, gopher: and the like.
    dispatcher = Caller(role="dispatcher", name="svc", region_code="420102", principal_id=1)
    bad = ("file:///etc/passwd", "gopher://127.0.0.1:6379/_", "ftp://example.com/x", "http://")
    private = ("HTTPS://10.0.0.5/hook", "http://u:p@example.org/")
    for url in bad + ("javascript:alert(1)", "//example.com/hook", "http://[::1/hook", *private):
        with pytest.raises(InvalidInput) as refused, world.ctx.db.write() as session:
            service.create_webhook(
                session=session,
                caller=dispatcher,
                url=url,
                event_types=["*", "bogus"],
                egress=service.egress(world.ctx),
                known={},
            )
        # One 422 names the URL beside the other bad fields.
        assert [e["field"] for e in refused.value.errors] == ["url", "event_types.1"], url
    # A private receiver is allowed once its network is allow-listed (an office's intranet).
    allow(world, "10.0.0.0/24")
    with world.ctx.db.write() as session:
        hook, _ = service.create_webhook(
            session=session,
            caller=dispatcher,
            url="HTTPS://10.0.0.5/hook",
            event_types=["*"],
            egress=service.egress(world.ctx),
        )
        assert hook.id is not None and hook.principal_id == 1


# -- the outbox ----------------------------------------------------------------------------
def test_one_delivery_per_matching_subscription(world: World, receiver: Receiver) -> None:
    mine = subscribe(world, "dispatcher", receiver.url, ["assign"])
    city = subscribe(world, "dispatcher_city", receiver.url, ["*"])
    subscribe(world, "admin", receiver.url, ["accept"])  # not fired below
    subscribe(world, "dispatcher_elsewhere", receiver.url, ["assign"])  # out of region
    hid = assigned(world)

    rows = deliveries(world)
    assert sorted((r.webhook_id, r.event_type) for r in rows) == [
        (mine["id"], "assign"),
        (city["id"], "assign"),
        (city["id"], "report"),
    ]
    assert len({r.idempotency_id for r in rows}) == 3
    history = world.history(hid)
    for row in rows:
        body = json.loads(row.body)
        assert body["id"] == row.idempotency_id and body["type"] == row.event_type
        assert body["hazard_id"] == hid and body["region_code"] == "420102"
        assert body["event"] == next(e for e in history if e["trigger"] == row.event_type)
        assert row.event_seq == body["event"]["seq"] and row.status == "pending"
    assert [d["event_type"] for d in log(world, "dispatcher")] == ["assign"]
    assert len(log(world, "dispatcher_city")) == 2 and log(world, "dispatcher_elsewhere") == []
    assert len(log(world, "admin")) == 3


def test_rolled_back_trigger_leaves_no_delivery(world: World, receiver: Receiver) -> None:
    subscribe(world, "dispatcher", receiver.url, ["*"])
    hid = world.report()["id"]
    world.fire(hid, "dispatcher", "close", expect=409, note="销号")
    assert [d.event_type for d in deliveries(world)] == ["report"]

    # The event is written, the outbox entry with it; the transaction then fails: neither stays.
    world.fire(hid, "dispatcher", "assign", assignee="王工")
    with pytest.raises(RuntimeError), world.ctx.db.unit() as uow:
        hazard = rows.load(uow, hid, lock=True)
        hazards.apply_system(
            uow=uow, ctx=world.ctx, hazard=hazard, trigger="deadline_reminder", payload={}
        )
        inside = select(Delivery.__table__).where(Delivery.event_type == "deadline_reminder")
        assert len(uow.rows(inside)) == 1
        raise RuntimeError("later step failed")
    assert [d.event_type for d in deliveries(world)] == ["report", "assign"]


def test_scheduler_events_are_delivered_too(world: World, receiver: Receiver) -> None:
    subscribe(world, "dispatcher", receiver.url, ["deadline_reminder"], secret=SECRET)
    hid = assigned(world)
    with world.ctx.db.unit() as uow:
        hazard = rows.load(uow, hid, lock=True)
        hazards.apply_system(
            uow=uow, ctx=world.ctx, hazard=hazard, trigger="deadline_reminder", payload={}
        )
    assert worker.run_once(world.ctx, "w1") == 1
    event = json.loads(receiver.seen[0].body)["event"]
    assert event["trigger"] == "deadline_reminder" and event["actor"] == "system:scheduler"


# -- delivery ------------------------------------------------------------------------------
def test_delivery_is_signed_and_sent_once(world: World, receiver: Receiver) -> None:
    hook = subscribe(world, "dispatcher", receiver.url, ["assign"], secret=SECRET)
    hid = assigned(world)
    assert deliver(world) == 1
    assert deliver(world) == 0

    [seen] = receiver.seen
    [row] = log(world, "dispatcher")
    assert seen.path == "/hook" and seen.headers["content-type"] == "application/json"
    expected = "sha256=" + hmac.new(SECRET.encode(), seen.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(seen.headers["x-rectify-signature"], expected)
    forged = "sha256=" + hmac.new(b"wrong", seen.body, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(seen.headers["x-rectify-signature"], forged)
    assert seen.headers["x-rectify-delivery"] == seen.headers["idempotency-key"]
    assert seen.headers["x-rectify-delivery"] == row["idempotency_id"]
    assert seen.headers["x-rectify-event"] == "assign"
    body = json.loads(seen.body)
    assert body["id"] == row["idempotency_id"] and body["hazard_id"] == hid
    assert body["event"]["payload"]["assignee"] == "王工"
    assert row["status"] == "delivered" and row["attempts"] == 1
    assert row["last_status_code"] == 204 and row["webhook_id"] == hook["id"]
    assert row["delivered_at"].startswith(world.clock.now.strftime("%Y-%m-%dT%H:%M"))


def test_retries_with_backoff_under_the_same_id(world: World, receiver: Receiver) -> None:
    subscribe(world, "dispatcher", receiver.url, ["assign"], secret=SECRET)
    assigned(world)
    receiver.fail = 2

    assert deliver(world) == 1
    [row] = log(world, "dispatcher", status="pending")
    assert row["attempts"] == 1 and row["last_status_code"] == 500
    assert row["last_error_class"] == "http_5xx"
    world.clock.advance(seconds=4)
    assert deliver(world) == 0  # 5 s backoff not yet over
    world.clock.advance(seconds=1)
    assert deliver(world) == 1
    world.clock.advance(seconds=9)
    assert deliver(world) == 0  # then 10 s
    world.clock.advance(seconds=1)
    assert deliver(world) == 1
    world.clock.advance(hours=2)
    assert deliver(world) == 0

    assert len(receiver.seen) == 3
    assert len(set(receiver.ids())) == 1
    assert len({s.body for s in receiver.seen}) == 1
    assert len({s.headers["x-rectify-signature"] for s in receiver.seen}) == 1
    [row] = log(world, "dispatcher")
    assert row["status"] == "delivered" and row["attempts"] == 3
    assert row["idempotency_id"] == receiver.ids()[0] and row["last_error_class"] is None
    assert log(world, "dispatcher", status="pending") == []


def test_backoff_doubles_to_an_hour_then_gives_up(world: World, receiver: Receiver) -> None:
    subscribe(world, "dispatcher", receiver.url, ["assign"])
    assigned(world)
    receiver.fail = 100
    waits = []
    for _ in range(12):
        assert deliver(world) == 1
        [row] = deliveries(world)
        waits.append((row.next_attempt_at - world.clock.now).total_seconds())
        world.clock.advance(hours=1)
    assert deliver(world) == 0
    assert waits[:11] == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]
    [row] = log(world, "dispatcher")
    assert row["status"] == "failed" and row["attempts"] == 12
    assert len(receiver.seen) == 12 and len(set(receiver.ids())) == 1


def test_network_errors_are_retried(world: World) -> None:
    allow(world, "127.0.0.1/32")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subscribe(world, "dispatcher", f"http://127.0.0.1:{port}/", ["assign"])
    assigned(world)
    assert deliver(world) == 1
    [row] = log(world, "dispatcher")
    assert row["status"] == "pending" and row["attempts"] == 1
    assert row["last_status_code"] is None and row["last_error_class"] == "connect_refused"


def test_a_claim_is_leased_and_recovered_after_a_crash(world: World, receiver: Receiver) -> None:
    subscribe(world, "dispatcher", receiver.url, ["assign"])
    assigned(world)
    [first] = service.claim(ctx=world.ctx, worker="crashes")
    assert service.claim(ctx=world.ctx, worker="other") == []
    assert deliver(world) == 0
    world.clock.advance(seconds=61)  # the first worker never reported back
    [again] = service.claim(ctx=world.ctx, worker="other")
    assert again.idempotency_id == first.idempotency_id and again.body == first.body
    world.clock.advance(seconds=61)
    assert deliver(world) == 1
    [row] = log(world, "dispatcher")
    assert row["status"] == "delivered" and row["attempts"] == 1
    assert receiver.ids() == [first.idempotency_id]


def test_postgres_skips_rows_another_worker_holds(
    backend: str, world: World, receiver: Receiver
) -> None:
    if backend.startswith("sqlite"):
        pytest.skip("SQLite serialises writers; the conditional update covers it")
    subscribe(world, "dispatcher", receiver.url, ["*"])
    assigned(world)
    with world.ctx.db.session() as holder:
        locked = holder.exec(
            select(Delivery).where(Delivery.event_type == "report").with_for_update()
        ).one()
        locked_id = locked.id
        claimed = service.claim(ctx=world.ctx, worker="second")
        assert [c.event_type for c in claimed] == ["assign"]
        holder.rollback()
    [late] = service.claim(ctx=world.ctx, worker="second")
    assert late.id == locked_id


def test_deactivating_stops_delivery(world: World, receiver: Receiver) -> None:
    hook = subscribe(world, "dispatcher", receiver.url, ["*"])
    hid = world.report()["id"]
    path = f"/api/v1/webhooks/{hook['id']}"
    assert world.client.delete(path, headers=world.h("dispatcher")).status_code == 204
    assert world.client.delete(path, headers=world.h("dispatcher")).status_code == 204
    world.fire(hid, "dispatcher", "assign", assignee="王工")
    assert deliver(world) == 0 and receiver.seen == []
    [row] = log(world, "dispatcher")
    assert row["status"] == "cancelled" and row["event_type"] == "report"
    listed = world.client.get("/api/v1/webhooks", headers=world.h("dispatcher")).json()
    assert listed[0]["active"] is False


# -- where webhooks may go (no probe into the office's network) ----------------------------
PROBES = (
    "http://169.254.169.254/latest",  # cloud metadata (link-local)
    "http://10.0.0.1/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://localhost/",
    "http://100.64.0.1/",  # CGNAT
    "http://[fd00::1]/",
    "http://intranet.corp/",  # resolves to a private address
    "http://nowhere.invalid/",  # does not resolve
)


def test_probes_of_the_office_network_are_422_naming_url(world: World) -> None:
    dns(world).names["intranet.corp"] = ["93.184.215.14", "192.168.1.10"]  # any one private
    for url in PROBES:
        r = world.client.post(
            "/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=world.h("admin")
        )
        assert r.status_code == 422, (url, r.text)
        assert [e["field"] for e in r.json()["errors"]] == ["url"], url
    assert world.client.get("/api/v1/webhooks", headers=world.h("admin")).json() == []
    assert "nowhere.invalid" in dns(world).asked  # names go through the injected resolver


def test_the_allow_list_admits_a_private_target(world: World) -> None:
    url = "http://10.0.0.1/hook"
    r = world.client.post(
        "/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=world.h("dispatcher")
    )
    assert r.status_code == 422
    allow(world, "10.1.0.0/16")  # another private network: still refused
    r = world.client.post(
        "/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=world.h("dispatcher")
    )
    assert r.status_code == 422
    allow(world, "10.0.0.0/24")
    assert subscribe(world, "dispatcher", url, ["*"])["url"] == url


def test_a_name_rebound_to_loopback_is_not_contacted(world: World, receiver: Receiver) -> None:
    allow(world)  # 127.0.0.1 is not allow-listed here
    dns(world).names["hooks.example"] = ["93.184.215.14"]
    subscribe(world, "dispatcher", f"http://hooks.example:{receiver.port}/hook", ["assign"])
    dns(world).names["hooks.example"] = ["127.0.0.1"]  # rebound after the check
    assigned(world)
    assert deliver(world) == 1
    assert receiver.seen == []
    [row] = log(world, "dispatcher")
    assert row["status"] == "pending" and row["last_error_class"] == "forbidden_address"
    assert row["last_status_code"] is None


def test_delivery_connects_to_the_checked_address_under_its_name(
    world: World, receiver: Receiver
) -> None:
    dns(world).names["receiver.office.test"] = ["127.0.0.1"]  # allow-listed by the fixture
    url = f"http://receiver.office.test:{receiver.port}/hook"
    subscribe(world, "dispatcher", url, ["assign"])
    assigned(world)
    asked = len(dns(world).asked)
    assert deliver(world) == 1
    assert dns(world).asked[asked:] == ["receiver.office.test"]  # resolved once, at delivery
    [seen] = receiver.seen
    assert seen.headers["host"] == f"receiver.office.test:{receiver.port}"
    assert log(world, "dispatcher")[0]["status"] == "delivered"


def test_what_a_receiver_answers_never_reaches_the_log(world: World, receiver: Receiver) -> None:
    secret = "db-password=hunter2 internal-host=10.9.8.7"
    receiver.fail, receiver.answer = 1, secret.encode()
    subscribe(world, "dispatcher", receiver.url, ["assign"])
    assigned(world)
    assert deliver(world) == 1 and len(receiver.seen) == 1
    for who in ("dispatcher", "admin"):
        r = world.client.get("/api/v1/webhooks/deliveries", headers=world.h(who))
        assert r.status_code == 200 and "hunter2" not in r.text and "10.9.8.7" not in r.text
        [row] = r.json()["items"]
        assert row["last_status_code"] == 500 and row["last_error_class"] == "http_5xx"
    with world.ctx.db.session() as session:
        [stored] = session.exec(select(Delivery)).all()
    assert "hunter2" not in json.dumps(stored.model_dump(), default=str)


# -- ownership -----------------------------------------------------------------------------
def test_a_same_named_dispatcher_sees_nothing_of_anothers_webhooks(
    world: World, receiver: Receiver
) -> None:
    from rectify.auth import service as auth

    with world.ctx.db.write() as session:  # same role, name and region; another principal
        _, token = auth.create_token(
            session=session, role="dispatcher", name="dispatcher", region_code="420102"
        )
    twin = {"Authorization": f"Bearer {token}"}
    hook = subscribe(world, "dispatcher", receiver.url, ["*"])
    assigned(world)
    path = f"/api/v1/webhooks/{hook['id']}"
    assert world.client.get("/api/v1/webhooks", headers=twin).json() == []
    assert world.client.get(path, headers=twin).status_code == 404
    assert world.client.delete(path, headers=twin).status_code == 404
    r = world.client.get("/api/v1/webhooks/deliveries", headers=twin)
    assert r.status_code == 200 and r.json()["items"] == [] and r.json()["total"] == 0
    r = world.client.get(
        "/api/v1/webhooks/deliveries", params={"webhook_id": hook["id"]}, headers=twin
    )
    assert r.status_code == 404
    # The owner still has it, and it still works.
    assert world.client.get(path, headers=world.h("dispatcher")).json()["active"] is True
    assert len(log(world, "dispatcher")) == 2


# -- checkpoints ---------------------------------------------------------------------------
def test_each_new_checkpoint_line_is_delivered(world: World, receiver: Receiver) -> None:
    from rectify.timers.scheduler import checkpoint_pass

    subscribe(world, "dispatcher", receiver.url, ["checkpoint"], secret=SECRET)
    subscribe(world, "dispatcher_elsewhere", receiver.url, ["assign"])  # not a subscriber
    assigned(world)
    cp = checkpoint_pass(world.ctx)
    assert cp is not None
    assert deliver(world) == 1
    [seen] = receiver.seen
    assert seen.headers["x-rectify-event"] == "checkpoint"
    expected = "sha256=" + hmac.new(SECRET.encode(), seen.body, hashlib.sha256).hexdigest()
    assert seen.headers["x-rectify-signature"] == expected
    body = json.loads(seen.body)
    assert body["type"] == "checkpoint" and body["line"] == cp.line
    assert body["checkpoint"]["hash"] == hashlib.sha256(cp.line.encode()).hexdigest()
    assert (body["checkpoint"]["id"], body["checkpoint"]["max_seq"]) == (cp.id, cp.max_seq)
    [row] = log(world, "dispatcher")
    assert row["event_type"] == "checkpoint" and row["hazard_id"] is None
    assert row["status"] == "delivered"
