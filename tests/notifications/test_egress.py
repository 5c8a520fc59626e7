"""Where webhooks may go: the address rules (no database), and TLS by name to a pinned address
against a real local HTTPS receiver with a certificate from a test CA (trustme)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from typing import Any

import httpx
import pytest
import trustme

from rectify.notifications import service
from rectify.notifications.egress import Egress, Refused, forbidden_kind, system_resolve
from tests.notifications.test_webhooks import allow, assigned, dns, log, subscribe
from tests.support import World

FORBIDDEN = {
    "127.0.0.1": "loopback",
    "0.0.0.0": "unspecified",
    "169.254.169.254": "link-local",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.0.1": "private",
    "100.64.0.1": "shared (CGNAT)",
    "224.0.0.1": "multicast",
    "240.0.0.1": "private",  # reserved; Python files it under private too
    "192.0.2.1": "private",  # documentation range
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fd12::1": "private",
    "fec0::1": "site-local",
    "ff02::1": "multicast",
    "::7f00:1": "reserved",  # IPv4-compatible (deprecated)
    "::ffff:10.0.0.1": "private",  # IPv4-mapped: judged by the IPv4 address
    "2002:7f00:1::": "loopback",  # 6to4 of 127.0.0.1
    "64:ff9b::a9fe:a9fe": "link-local",  # NAT64 of 169.254.169.254
}
PUBLIC = ("93.184.215.14", "2606:4700::1", "::ffff:93.184.215.14", "64:ff9b::808:808")


def test_every_non_public_address_is_named_and_public_ones_pass() -> None:
    for address, kind in FORBIDDEN.items():
        assert forbidden_kind(ip_address(address)) == kind, address
    for address in PUBLIC:
        assert forbidden_kind(ip_address(address)) is None, address


def test_the_allow_list_also_covers_ipv4_inside_ipv6() -> None:
    rule = Egress.of(["127.0.0.0/8"], lambda host: ["::ffff:127.0.0.1"])
    assert rule.check("http://mapped.test/").address == "127.0.0.1"
    with pytest.raises(Refused) as refused:
        Egress.of([], lambda host: ["::ffff:127.0.0.1"]).check("http://mapped.test/")
    assert refused.value.error_class == "forbidden_address"


def test_the_default_resolver_asks_the_system() -> None:
    assert "127.0.0.1" in system_resolve("localhost") or "::1" in system_resolve("localhost")
    with pytest.raises(Refused) as refused:
        Egress.of([], system_resolve).check("http://localhost:1/")
    assert refused.value.error_class == "forbidden_address"


# -- TLS by name, to the checked address -----------------------------------------------------
NAME = "hooks.office.test"


class TLSReceiver:
    """HTTPS on 127.0.0.1 with a certificate for NAME only; records SNI names and requests."""

    def __init__(self, ca: trustme.CA) -> None:
        self.sni: list[str | None] = []
        self.hosts: list[str] = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(NAME).configure_cert(context)
        context.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: a pooled connection could be reused

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.hosts.append(self.headers["Host"])
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls(world: World) -> Iterator[tuple[TLSReceiver, httpx.Client]]:
    ca = trustme.CA()
    receiver = TLSReceiver(ca)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    with httpx.Client(verify=trusting, timeout=5) as client:
        yield receiver, client
    receiver.close()


def test_tls_goes_to_the_pinned_address_and_is_checked_by_name(
    world: World, tls: tuple[TLSReceiver, httpx.Client]
) -> None:
    receiver, client = tls
    allow(world, "127.0.0.1/32")
    dns(world).names[NAME] = ["127.0.0.1"]
    dns(world).names["other.office.test"] = ["127.0.0.1"]  # same address, no certificate
    good = subscribe(world, "dispatcher", f"https://{NAME}:{receiver.port}/h", ["assign"])
    bad = subscribe(world, "dispatcher", f"https://other.office.test:{receiver.port}/h", ["*"])
    assigned(world)  # bad: report and assign; good: assign
    assert service.deliver_due(ctx=world.ctx, worker="t", client=client) == 3
    rows = {(d["webhook_id"], d["event_type"]): d for d in log(world, "dispatcher")}
    assert rows[(good["id"], "assign")]["status"] == "delivered"
    for event in ("report", "assign"):  # not carried over the connection verified for NAME
        assert rows[(bad["id"], event)]["last_error_class"] == "tls"
    assert receiver.hosts == [f"{NAME}:{receiver.port}"]
    assert NAME in receiver.sni and "other.office.test" in receiver.sni
