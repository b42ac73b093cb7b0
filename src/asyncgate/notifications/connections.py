"""Connections for callouts: to addresses the URL guard vetted, and to nothing else.

The guard resolves a callout's host and checks every address before each send; were the HTTP
client to resolve the name again when it connects, a DNS answer that changed in between (DNS
rebinding) would lead it somewhere unchecked. So the client never resolves: its network
backend connects to the addresses of the :class:`~asyncgate.notifications.urls.VettedUrl` the
sending task holds (:func:`connecting_to`), and refuses any host that was not vetted.

The URL keeps its host name, so the ``Host`` header, TLS's server name and the certificate
check are all the name's, and pooled connections are kept per name: a connection is only ever
reused for the host it was made, and verified, for.
"""

from __future__ import annotations

import contextvars
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpcore
import httpx

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


class VettedNetwork(httpcore.AsyncNetworkBackend):
    """Connects to the vetted addresses of the host asked for, trying each in turn."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        vetted = _VETTED.get()
        if vetted is None or (vetted.url.raw_host.decode("ascii"), vetted.port) != (host, port):
            raise httpcore.ConnectError(f"{host}:{port} was not vetted for this callout")
        error: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in vetted.addresses:
            try:
                return await self._backend.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed
        assert error is not None, "a vetted URL has at least one address"
        raise error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("callouts never use Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The system's certificate authorities, and those of ``ca_bundle`` when given."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def callout_transport(context: ssl.SSLContext, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport, its connection pool made with :class:`VettedNetwork` (httpx takes no
    network backend of its own), and no proxy from the environment."""
    transport = httpx.AsyncHTTPTransport(verify=context, limits=limits, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=VettedNetwork(),
    )
    return transport
