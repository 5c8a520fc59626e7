"""Where webhooks may go: a target's host is resolved once, every address it resolves to must be
public (or inside `webhook_allow_networks`), and the POST then goes to the checked address, with
the URL's own name in the Host header, as TLS SNI and for the certificate check. So a
subscription cannot probe the office's network, and a name cannot be rebound between the check
and the connection.

The same parse (httpx's, the one the delivery uses) serves the check and the connection, so no
two URL parsers can disagree about which host is meant.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import httpx

__all__ = [
    "Egress",
    "Refused",
    "Resolver",
    "Target",
    "forbidden_kind",
    "system_resolve",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], Sequence[str]]
"""A host name → the addresses it resolves to (an empty list or OSError: it does not)."""

SCHEMES = ("http", "https")
CGNAT = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 shared address space
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix, v4 in the low 32 bits
_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$")
_NUMBER = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")  # a label inet_aton would read as a number


def system_resolve(host: str) -> list[str]:
    """The addresses the operating system's resolver gives for `host` (TCP), in its order."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Refused(Exception):
    """A target that may not be contacted: `error_class` for the delivery log, `message` for
    the person subscribing (neither carries an address or OS text)."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message


def forbidden_kind(address: Address) -> str | None:
    """Why `address` is no public internet address (loopback, private, ...), or None.

    IPv4 inside IPv6 (mapped, 6to4, NAT64) is judged by the IPv4 address it carries. The
    explicit checks come before `is_global`, which older Pythons get wrong for some IPv6 ranges.
    """
    embedded = _embedded_v4(address)
    if embedded is not None:
        return forbidden_kind(embedded)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("shared (CGNAT)", address.version == 4 and address in CGNAT),
        ("reserved", address.is_reserved),
        ("site-local", address.version == 6 and address.is_site_local),
        ("non-global", not address.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def _embedded_v4(address: Address) -> ipaddress.IPv4Address | None:
    if address.version == 4:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: connect to `address`, name the host as the URL does."""

    url: httpx.URL
    address: str

    def request_url(self) -> httpx.URL:
        """The URL with its host replaced by the checked address (what is connected to)."""
        return self.url.copy_with(host=self.address)

    def headers(self) -> dict[str, str]:
        """Host as the URL names it (name and non-default port, IDNA-encoded)."""
        return {"Host": self.url.netloc.decode("ascii")}

    def extensions(self) -> dict[str, str]:
        """TLS SNI and certificate check by the URL's name, not by the address."""
        return {"sni_hostname": self.url.raw_host.decode("ascii")} if self._named_tls() else {}

    def _named_tls(self) -> bool:
        return self.url.scheme == "https" and _literal(self.url.host) is None


@dataclass(frozen=True)
class Egress:
    """The rule for webhook targets: public addresses, plus the allow-listed networks."""

    allow: tuple[Network, ...]
    resolve: Resolver

    @classmethod
    def of(cls, networks: Iterable[object], resolve: Resolver) -> Egress:
        """From the setting (CIDR strings or networks) and a resolver."""
        return cls(tuple(ipaddress.ip_network(str(n)) for n in networks), resolve)

    def check(self, url: str) -> Target:
        """The target `url` names, resolved once and checked, or Refused."""
        parsed = parse(url)
        host = parsed.host
        literal = _literal(host)
        addresses = [literal] if literal is not None else self._lookup(host)
        for address in addresses:
            kind = self._forbidden(address)
            if kind is not None:
                raise Refused(
                    "forbidden_address",
                    f"{host} is or resolves to an address that is {kind}; webhooks go only to "
                    "public addresses, or to networks an operator lists in webhook_allow_networks",
                )
        first = addresses[0]
        if isinstance(first, ipaddress.IPv6Address) and first.ipv4_mapped is not None:
            first = first.ipv4_mapped  # the same host, reached over IPv4
        return Target(url=parsed, address=str(first))

    def _lookup(self, host: str) -> list[Address]:
        try:
            found = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolve(host)]
        except (OSError, UnicodeError, ValueError):
            found = []
        if not found:
            raise Refused("dns", f"the host {host} does not resolve")
        return found

    def _forbidden(self, address: Address) -> str | None:
        inner = _embedded_v4(address)
        if any(a in net for a in (address, inner) if a is not None for net in self.allow):
            return None
        return forbidden_kind(address)


def parse(url: str) -> httpx.URL:
    """An absolute http(s) URL with a plain host, or Refused (error class `invalid_url`)."""
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, TypeError, ValueError):
        raise Refused("invalid_url", "must be an absolute http or https URL") from None
    host = parsed.host
    if parsed.scheme not in SCHEMES or not host or not parsed.is_absolute_url:
        raise Refused("invalid_url", "must be an absolute http or https URL")
    if parsed.userinfo:
        raise Refused("invalid_url", "must not carry a user name or password (user@host)")
    if port is not None and not 0 < port < 65536:
        raise Refused("invalid_url", "the port must be between 1 and 65535")
    if _literal(host) is None:
        name = parsed.raw_host.decode("ascii").lower()
        if not _NAME.match(name):
            raise Refused("invalid_url", f"{host!r} is not a valid host name")
        if _NUMBER.match(name.rstrip(".").rsplit(".", 1)[-1]):
            # 127.1, 2130706433, 0x7f.1, 0177.0.0.1: resolvers read these as addresses; we
            # accept only the one unambiguous spelling.
            raise Refused("invalid_url", "write an IPv4 address as four decimal numbers a.b.c.d")
    return parsed


def _literal(host: str) -> Address | None:
    """The address a host spells literally (IPv6 without brackets, a final dot allowed)."""
    try:
        return ipaddress.ip_address(host.rstrip(".") if "." in host else host)
    except ValueError:
        return None
