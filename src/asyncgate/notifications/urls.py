"""The callout URL guard: where a callout may be sent.

Checked when a definition is saved and again before every send, since a name that resolved to
a public address yesterday may resolve to an internal one today. The rules are Zuora's (https,
no port but the default) plus the one that keeps callouts from reaching the service's own
network: every address the host resolves to must be public. Credentials in the URL are refused
too; they belong in ``calloutAuth``, which is stored encrypted.

The URL is parsed once, by yarl, and the sender uses that very parse (``VettedUrl.url``), so
the guard and the sender read the same host and port. Development relaxations (``serve
--dev``, or each on its own setting) allow ``http://``, non-public addresses and explicit
ports.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from yarl import URL

from asyncgate.config import Settings
from asyncgate.http.errors import InvalidValue, Resource

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
DEFAULT_PORTS = {"https": 443, "http": 80}
# A host name in its ASCII (IDNA) form; yarl itself lets spaces and such through.
_HOST_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class CalloutUrlRefused(InvalidValue):
    """A callout URL the rules do not allow; the message says which rule."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"calloutBaseurl {url!r} {reason}", resource=Resource.NOTIFICATION_DEFINITION
        )


class CalloutHostUnresolved(CalloutUrlRefused):
    """The host did not resolve (in time): unlike a refusal by rule, this may pass later."""


@dataclass(frozen=True, slots=True)
class CalloutUrlRules:
    allow_http: bool = False
    allow_private_addresses: bool = False
    allow_ports: bool = False
    resolve_timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> CalloutUrlRules:
        return cls(
            allow_http=settings.dev or settings.callout_allow_http,
            allow_private_addresses=settings.dev or settings.callout_allow_private_addresses,
            allow_ports=settings.dev or settings.callout_allow_ports,
            resolve_timeout=settings.callout_connect_timeout.total_seconds(),
        )

    @property
    def relaxations(self) -> list[str]:
        """What these rules allow beyond Zuora's, in words (empty when strict)."""
        allowed = {
            "http://": self.allow_http,
            "private addresses": self.allow_private_addresses,
            "explicit ports": self.allow_ports,
        }
        return [name for name, on in allowed.items() if on]


@dataclass(frozen=True, slots=True)
class VettedUrl:
    """A URL the rules allow, with the addresses its host resolved to (connect to these)."""

    url: URL
    port: int
    addresses: tuple[IPAddress, ...]


@functools.lru_cache(maxsize=4096)
def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is reachable on the public internet and nothing else.

    ``is_global`` already excludes loopback, private, link-local, unspecified, shared (CGNAT),
    documentation and reserved ranges; multicast and IPv6 site-local are global by that test,
    so they are excluded here. IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4) are
    judged by that address.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_public(embedded)
        if address.is_site_local:
            return False
    return address.is_global and not address.is_multicast and not address.is_reserved


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, through the event loop's resolver."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


async def vet_callout_url(
    text: str, rules: CalloutUrlRules, resolve: Resolver | None = None
) -> VettedUrl:
    """The URL and its addresses, or :class:`CalloutUrlRefused` saying which rule it breaks."""
    url, port = _by_rule(text, rules)
    addresses = await _addresses(text, url, port, rules, resolve or resolve_host)
    if not rules.allow_private_addresses:
        for address in addresses:
            if not is_public(address):
                raise CalloutUrlRefused(text, f"leads to {address}, which is not a public address")
    return VettedUrl(url, port, addresses)


@functools.lru_cache(maxsize=4096)
def _by_rule(text: str, rules: CalloutUrlRules) -> tuple[URL, int]:
    """The URL and its port, when its form follows the rules: the same for every send of a
    callout, so kept (addresses are checked at every send)."""
    url = _parsed(text)
    schemes = ("https", "http") if rules.allow_http else ("https",)
    if url.scheme not in schemes:
        raise CalloutUrlRefused(text, "must start with " + " or ".join(f"{s}://" for s in schemes))
    if not url.raw_host:
        raise CalloutUrlRefused(text, "names no host")
    if "@" in (url.raw_authority or ""):
        raise CalloutUrlRefused(text, "must not carry credentials: use calloutAuth")
    if url.explicit_port not in (None, DEFAULT_PORTS[url.scheme]) and not rules.allow_ports:
        raise CalloutUrlRefused(text, "must not name a port")
    return url, url.explicit_port or DEFAULT_PORTS[url.scheme]


Origin = tuple[str, str, int]  # scheme, host (as sent), port


def origin_of(text: str, rules: CalloutUrlRules) -> Origin | None:
    """Where a callout URL sends (None when its form breaks the rules): sends to one origin
    share its connections and its bound (``ASYNCGATE_CALLOUT_CONCURRENCY_PER_ORIGIN``)."""
    try:
        url, port = _by_rule(text, rules)
    except CalloutUrlRefused:
        return None
    return url.scheme, url.raw_host or "", port


def _parsed(text: str) -> URL:
    if any(character.isspace() or not character.isprintable() for character in text):
        raise CalloutUrlRefused(text, "is not a valid URL")
    try:
        url = URL(text)
    except (ValueError, TypeError):
        raise CalloutUrlRefused(text, "is not a valid URL") from None
    host = url.raw_host
    if host and ":" not in host and not _HOST_NAME.fullmatch(host):
        raise CalloutUrlRefused(text, "is not a valid URL")
    return url


async def _addresses(
    text: str, url: URL, port: int, rules: CalloutUrlRules, resolve: Resolver
) -> tuple[IPAddress, ...]:
    host = url.raw_host
    assert host is not None
    # An IPv6 literal's zone is percent-encoded in the raw form.
    literal = _literal_address((url.host or host) if ":" in host else host)
    if literal is not None:
        return (literal,)
    try:
        async with asyncio.timeout(rules.resolve_timeout):
            addresses = tuple(await resolve(host, port))
    except TimeoutError:
        raise CalloutHostUnresolved(
            text, f"names a host that did not resolve within {rules.resolve_timeout:g} s"
        ) from None
    except OSError:
        raise CalloutHostUnresolved(text, "names a host that does not resolve") from None
    if not addresses:
        raise CalloutHostUnresolved(text, "names a host that does not resolve")
    return addresses


@functools.lru_cache(maxsize=4096)
def _literal_address(host: str) -> IPAddress | None:
    """The address a host written as one names; None for a name, or a numeric form only the
    resolver reads (2130706433, 0x7f.1). Kept: a callout's host is read at every send."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
