"""Connections for callouts: to addresses the URL guard vetted, and to nothing else.

The guard resolves a callout's host and checks every address before each send; were the HTTP
client to resolve the name again when it connects, a DNS answer that changed in between (DNS
rebinding) would lead it somewhere unchecked. So the client never resolves: its resolver
answers with the addresses of the :class:`~asyncgate.notifications.urls.VettedUrl` the sending
task holds (:func:`connecting_to`), and refuses any host that was not vetted. (An IP literal
needs no resolver: the connector connects to it as it is, and the guard checked that very
address.)

The URL keeps its host name, so the ``Host`` header, TLS's server name and the certificate
check are all the name's, and pooled connections are kept per name: a connection is only ever
reused for the host it was made, and verified, for.
"""

from __future__ import annotations

import contextvars
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from asyncgate.notifications.urls import VettedUrl

_VETTED: contextvars.ContextVar[VettedUrl | None] = contextvars.ContextVar(
    "asyncgate_vetted_callout_url", default=None
)


@contextmanager
def connecting_to(vetted: VettedUrl) -> Iterator[None]:
    """Within the block, the current task's callout connections go to ``vetted``'s addresses."""
    token = _VETTED.set(vetted)
    try:
        yield
    finally:
        _VETTED.reset(token)


class VettedResolver(AbstractResolver):
    """Answers with the vetted addresses of the host asked for, in the guard's order."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        vetted = _VETTED.get()
        if vetted is None or (vetted.url.raw_host, vetted.port) != (host, port):
            raise OSError(f"{host}:{port} was not vetted for this callout")
        return [
            {
                "hostname": host,
                "host": str(address),
                "port": port,
                "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in vetted.addresses
        ]

    async def close(self) -> None:
        return None


def tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The system's certificate authorities, and those of ``ca_bundle`` when given."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def callout_connector(
    context: ssl.SSLContext, max_connections: int, max_per_origin: int
) -> aiohttp.TCPConnector:
    """Pooled keep-alive connections, at most ``max_per_origin`` to one host and port, made
    to vetted addresses only (no resolution, no DNS cache)."""
    return aiohttp.TCPConnector(
        ssl=context,
        limit=max_connections,
        limit_per_host=max_per_origin,
        use_dns_cache=False,
        resolver=VettedResolver(),
    )
